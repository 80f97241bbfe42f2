// Strategy specs on the eval command line: `direct`, `cot`, `plan`, `reflect`, `auto`, `sc@8`, `asc@8`, `bon@4`.
import { STRATEGIES, type ReasoningOptions, type StrategyName } from '../core/index.js';

export interface StrategySpec {
  label: string;
  strategy: StrategyName;
  options: ReasoningOptions;
}

export function parseStrategySpec(text: string): StrategySpec {
  const [name, n] = text.split('@') as [string, string | undefined];
  if (!(STRATEGIES as readonly string[]).includes(name)) throw new Error(`unknown strategy '${name}'; use ${STRATEGIES.join(', ')} (sc, asc and bon take @N)`);
  const strategy = name as StrategyName;
  const count = n === undefined ? undefined : Number(n);
  if (count !== undefined && !(Number.isInteger(count) && count >= 1 && count <= 64)) throw new Error(`'${text}': N must be a whole number from 1 to 64`);
  // A named strategy is measured as it is: no escalation (confidence 0). `auto` keeps the feedback controller.
  const options: ReasoningOptions = strategy === 'auto' ? { strategy } : { strategy, confidence: 0 };
  if (count !== undefined) {
    if (strategy === 'asc' || strategy === 'auto') options.maxSamples = count;
    else options.samples = count;
  }
  return { label: text, strategy, options };
}

/**
 * The accuracy the math predicts for a vote over n samples, each right with probability p, when wrong answers are
 * scattered (no two agree): the vote is right when the gold answer appears at least twice, or once and first (ties go
 * to the answer seen first).
 */
export function predictedVoteAccuracy(p: number, n: number): number {
  const q = 1 - p;
  const none = q ** n;
  const once = n * p * q ** (n - 1);
  return n === 1 ? p : 1 - none - once * (1 - 1 / n);
}
