// The state file of `autoglm optimize --state`: every item outcome measured, the demonstrations bootstrapped and the
// model's proposals, so a stopped run resumes where it was (the search replays its path from the file, paying only
// for what the file lacks) and a larger --budget continues a finished one.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { PromptDemo } from '../prompts/index.js';
import type { ItemOutcome } from './item-scorer.js';

export interface StateKey {
  dataset: string;
  model: string;
  train: number;
  dev: number;
  seed: number;
  method: string;
}

export interface OptimizeState {
  kind: 'autoglm-optimize';
  key: StateKey;
  demos?: PromptDemo[];
  trainCalls: number;
  /** The model's answers to the meta-prompt, by round:index. */
  proposals: Record<string, string>;
  /** Item outcomes by candidate key, then split:index. */
  memo: Record<string, Record<string, ItemOutcome>>;
}

export function loadState(o: {
  dataset: string;
  modelName: string;
  train: readonly unknown[];
  dev: readonly unknown[];
  seed: number;
  method: string;
  statePath?: string;
  fresh?: boolean;
}): OptimizeState {
  const key: StateKey = { dataset: o.dataset, model: o.modelName, train: o.train.length, dev: o.dev.length, seed: o.seed, method: o.method };
  const fresh: OptimizeState = { kind: 'autoglm-optimize', key, trainCalls: 0, proposals: {}, memo: {} };
  if (!o.statePath || !existsSync(o.statePath) || o.fresh) return fresh;
  let saved: OptimizeState;
  try {
    saved = JSON.parse(readFileSync(o.statePath, 'utf8')) as OptimizeState;
  } catch {
    saved = {} as OptimizeState;
  }
  if (saved?.kind !== 'autoglm-optimize' || typeof saved.memo !== 'object')
    throw new Error(`${o.statePath} is not a state written by \`autoglm optimize --state\`; name a new file or that one`);
  const differs = (Object.keys(key) as (keyof StateKey)[]).filter((k) => saved.key?.[k] !== key[k]);
  if (differs.length)
    throw new Error(
      `${o.statePath} holds a search with another ${differs.join(', ')}, so this run cannot resume it; pass --fresh to start over, or name another --state file`,
    );
  return saved;
}

/** Written to a temporary file and renamed, so a run killed mid-write leaves the previous state whole. */
export function saveState(path: string, state: OptimizeState): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(state));
  renameSync(`${path}.tmp`, path);
}
