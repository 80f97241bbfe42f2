// The tuning loop: propose settings (TPE, random or grid), measure each with a trial, keep every result in a state
// file so a stopped run resumes where it was, and report how fast each method got close to the best.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { seededRandom } from '../core/index.js';
import { gridPoints, pointKey, randomPoint, type Param, type Point } from './search-space.js';
import { suggestTpe } from './tpe.js';

export const METHODS = ['tpe', 'random', 'grid'] as const;
export type Method = (typeof METHODS)[number];

export interface TrialMetrics {
  outputTokensPerS: number;
  ttftP99Ms: number;
  e2eP50Ms: number;
  errors: number;
}

export interface Trial {
  n: number;
  point: Point;
  metrics: TrialMetrics;
  score: number;
  feasible: boolean;
  seconds: number;
}

export interface Objective {
  /** Time to first token p99 at most this (ms), or the trial is infeasible. */
  ttftP99Ms: number;
}

/** Tokens per second when the latency objective holds; otherwise below every feasible trial, by how far it missed. */
export function scoreOf(m: TrialMetrics, objective: Objective): { score: number; feasible: boolean } {
  const feasible = m.ttftP99Ms <= objective.ttftP99Ms && m.outputTokensPerS > 0;
  return { score: feasible ? m.outputTokensPerS : -m.ttftP99Ms / objective.ttftP99Ms, feasible };
}

interface State {
  space: Param[];
  objective: Objective;
  seed: number;
  trials: Partial<Record<Method, Trial[]>>;
}

export interface TuneOptions {
  space: Param[];
  objective: Objective;
  budget: number;
  methods: Method[];
  seed: number;
  statePath?: string;
  /** Start over even if the state file holds trials (of this search or another). */
  fresh?: boolean;
  evaluate: (point: Point) => Promise<TrialMetrics>;
  onTrial?: (method: Method, trial: Trial) => void;
}

/**
 * The state to resume. A file that is not a tune state is refused (it is about to be overwritten). A state of another
 * space, objective or seed is refused too unless `fresh` says to start over: its trials would mislead the model, and
 * dropping them without a word would throw away hours of measuring.
 */
function loadState(o: TuneOptions): State {
  const fresh: State = { space: o.space, objective: o.objective, seed: o.seed, trials: {} };
  if (!o.statePath || !existsSync(o.statePath)) return fresh;
  const notState = `${o.statePath} is not a state written by \`autoglm tune --state\`; name a new file or that one`;
  let saved: State;
  try {
    saved = JSON.parse(readFileSync(o.statePath, 'utf8')) as State;
  } catch {
    throw new Error(notState);
  }
  if (!saved || typeof saved !== 'object' || !Array.isArray(saved.space) || !saved.objective || typeof saved.trials !== 'object') throw new Error(notState);
  const differs = [
    JSON.stringify(saved.space) !== JSON.stringify(o.space) && 'search space',
    JSON.stringify(saved.objective) !== JSON.stringify(o.objective) && 'objective',
    saved.seed !== o.seed && 'seed',
  ].filter((d): d is string => !!d);
  if (differs.length === 0 && !o.fresh) return saved;
  if (o.fresh) return fresh;
  throw new Error(
    `${o.statePath} holds trials of another ${differs.join(', ')}, so this run cannot resume them; pass --fresh to start over and replace them, or name another --state file`,
  );
}

export async function tune(o: TuneOptions): Promise<Partial<Record<Method, Trial[]>>> {
  const state = loadState(o);
  const save = () => o.statePath && writeFileSync(o.statePath, JSON.stringify(state, null, 2));
  for (const method of o.methods) {
    const trials = (state.trials[method] ??= []);
    // Each method draws from its own seeded stream, advanced past the trials a resumed run already has.
    const random = seededRandom(o.seed * 31 + METHODS.indexOf(method));
    const grid = method === 'grid' ? gridPoints(o.space, o.budget) : [];
    for (let i = 0; i < trials.length && method === 'random'; i++) randomPoint(o.space, random);
    while (trials.length < o.budget) {
      const history = trials.map((t) => ({ point: t.point, score: t.score }));
      // A small budget cannot spend four trials on random exploration before the model starts to steer.
      const startup = Math.min(4, Math.max(2, Math.floor(o.budget / 4)));
      const point =
        method === 'tpe'
          ? suggestTpe(o.space, history, seededRandom(o.seed * 997 + trials.length), { startup })
          : method === 'random'
            ? randomPoint(o.space, random)
            : grid[trials.length];
      if (!point) break;
      const started = performance.now();
      const metrics = await o.evaluate(point);
      const { score, feasible } = scoreOf(metrics, o.objective);
      const trial: Trial = { n: trials.length + 1, point, metrics, score, feasible, seconds: Math.round((performance.now() - started) / 100) / 10 };
      trials.push(trial);
      save();
      o.onTrial?.(method, trial);
    }
  }
  return state.trials;
}

/** The first trial at which a method's best so far came within `share` of the best score any method found. */
export function trialsToReach(trials: readonly Trial[], best: number, share = 0.95): number | undefined {
  let running = -Infinity;
  for (const t of trials) {
    running = Math.max(running, t.score);
    if (best > 0 ? running >= share * best : running >= best) return t.n;
  }
  return undefined;
}

export { pointKey };
