// The feedback bandit: Thompson sampling over a prompt's versions, with a floor of exploration. Pure: the arms'
// feedback and a seeded Random in, the version to serve out.
import type { Random } from '../core/index.js';

/** What a version has earned: the sum of its feedback scores (each in [0, 1]) and how many there were. */
export interface Arm {
  id: string;
  rewards: number;
  trials: number;
}

function gaussian(random: Random): number {
  const u = Math.max(1e-12, random.next());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
}

/** A Gamma(shape, 1) draw (Marsaglia and Tsang), boosted for shapes below one. */
function gamma(shape: number, random: Random): number {
  if (shape < 1) return gamma(shape + 1, random) * Math.max(1e-12, random.next()) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = gaussian(random);
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = random.next();
    if (Math.log(Math.max(1e-300, u)) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** A Beta(a, b) draw, from two Gamma draws. */
export function betaDraw(a: number, b: number, random: Random): number {
  const x = gamma(a, random);
  return x / (x + gamma(b, random));
}

/**
 * The version to serve. With probability floor x arms a version is picked uniformly, so each keeps at least `floor`
 * of the traffic whatever its feedback says (a version that had bad luck early can still recover); otherwise each
 * arm's mean score is drawn from its Beta(1 + rewards, 1 + failures) posterior and the highest draw wins, so traffic
 * follows the probability of being the best.
 */
export function chooseArm(arms: readonly Arm[], random: Random, floor: number): string {
  if (arms.length === 0) throw new Error('a bandit needs at least one arm');
  if (arms.length === 1) return arms[0]!.id;
  const explore = Math.min(1, floor * arms.length);
  if (random.next() < explore) return arms[Math.floor(random.next() * arms.length)]!.id;
  let best = arms[0]!;
  let bestDraw = -1;
  for (const arm of arms) {
    const failures = Math.max(0, arm.trials - arm.rewards);
    const draw = betaDraw(1 + arm.rewards, 1 + failures, random);
    if (draw > bestDraw) [best, bestDraw] = [arm, draw];
  }
  return best.id;
}
