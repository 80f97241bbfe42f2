// Strategy specs on the eval command line: `direct`, `cot`, `plan`, `reflect`, `auto`, `sc@8`, `asc@8`, `bon@4`, in
// the grammar of the model prefix (`sc@8:glm-4`), which the reasoning room parses for both.
import type { ReasoningOptions, StrategyName } from '../core/index.js';
import { parseStrategySpec as parseSpec } from '../reasoning/index.js';

export interface StrategySpec {
  label: string;
  strategy: StrategyName;
  options: ReasoningOptions;
}

export function parseStrategySpec(text: string): StrategySpec {
  const { strategy, options } = parseSpec(text);
  // A named strategy is measured as it is: no escalation (confidence 0). `auto` keeps the feedback controller.
  return { label: text, strategy, options: strategy === 'auto' ? options : { ...options, confidence: 0 } };
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
