// Tree-structured Parzen Estimator (Bergstra et al. 2011): model the good and the bad trials' parameter densities
// separately and propose the point where good/bad is highest. Written here because no well-kept JavaScript package
// offers Bayesian optimization; it is small, seeded and tested on functions with a known optimum.
import type { Random } from '../core/index.js';
import { fromUnit, pointKey, randomPoint, toUnit, type Param, type Point } from './search-space.js';

export interface Observation {
  point: Point;
  /** Higher is better. */
  score: number;
}

export interface TpeOptions {
  /** Random trials before the model is trusted. */
  startup: number;
  /** Share of trials counted as good. */
  gamma: number;
  /** Candidates drawn from the good density per proposal. */
  candidates: number;
}

const DEFAULTS: TpeOptions = { startup: 4, gamma: 0.25, candidates: 32 };

function gaussian(random: Random): number {
  const u = Math.max(1e-12, random.next());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
}

/** Density of a Parzen window (Gaussian kernels on [0, 1], plus a flat prior so no region is ruled out). */
function parzen(values: readonly number[], x: number): number {
  const bandwidth = Math.max(0.08, 1 / (1 + values.length));
  const kernel = values.reduce((s, v) => s + Math.exp(-0.5 * ((x - v) / bandwidth) ** 2) / (bandwidth * Math.sqrt(2 * Math.PI)), 0);
  return (kernel + 1) / (values.length + 1);
}

export function suggestTpe(space: readonly Param[], history: readonly Observation[], random: Random, options: Partial<TpeOptions> = {}): Point {
  const o = { ...DEFAULTS, ...options };
  const seen = new Set(history.map((h) => pointKey(h.point)));
  if (history.length < o.startup) {
    for (let i = 0; i < 20; i++) {
      const p = randomPoint(space, random);
      if (!seen.has(pointKey(p))) return p;
    }
    return randomPoint(space, random);
  }
  const sorted = [...history].sort((a, b) => b.score - a.score);
  const nGood = Math.max(1, Math.ceil(o.gamma * sorted.length));
  const good = sorted.slice(0, nGood);
  const bad = sorted.slice(nGood);
  let best: { point: Point; ratio: number } | undefined;
  for (let c = 0; c < o.candidates; c++) {
    const point: Point = {};
    let ratio = 0;
    for (const p of space) {
      if (p.kind === 'cat') {
        const weights = p.values.map((v) => (good.filter((g) => g.point[p.name] === v).length + 1) / (good.length + p.values.length));
        let u = random.next() * weights.reduce((a, b) => a + b, 0);
        const value = p.values.find((_, i) => (u -= weights[i]!) <= 0) ?? p.values[p.values.length - 1]!;
        const l = weights[p.values.indexOf(value)]!;
        const g = (bad.filter((b) => b.point[p.name] === value).length + 1) / (bad.length + p.values.length);
        point[p.name] = value;
        ratio += Math.log(l / g);
      } else {
        const goodUnits = good.map((g) => toUnit(p, g.point[p.name] as number));
        const centre = goodUnits[Math.floor(random.next() * goodUnits.length)]!;
        const value = fromUnit(p, centre + gaussian(random) * Math.max(0.08, 1 / (1 + goodUnits.length)));
        const u = toUnit(p, value);
        point[p.name] = value;
        ratio += Math.log(
          parzen(goodUnits, u) /
            parzen(
              bad.map((b) => toUnit(p, b.point[p.name] as number)),
              u,
            ),
        );
      }
    }
    // A point already measured teaches nothing new; it only wins when nothing else is proposed.
    if (seen.has(pointKey(point))) ratio -= 1e6;
    if (!best || ratio > best.ratio) best = { point, ratio };
  }
  return best!.point;
}
