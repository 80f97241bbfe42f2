// The feedback controller: when an answer's confidence is below the caller's threshold, what to try next.
import type { StrategyName } from '../core/index.js';

export type Escalation =
  | { kind: 'more_samples'; maxSamples: number }
  | { kind: 'stronger_strategy'; strategy: 'asc' }
  | { kind: 'larger_model'; model: string };

export interface Attempt {
  strategy: Exclude<StrategyName, 'auto'>;
  model: string;
  /** Undefined when the strategy has no measure of it. */
  confidence: number | undefined;
  maxSamples?: number;
}

export const MAX_SAMPLES_CEILING = 32;

/**
 * One step up the ladder: a single-sample strategy becomes adaptive self-consistency; self-consistency draws twice
 * as many samples (up to a ceiling); then the cascade's larger model is asked. Undefined when confident enough, when
 * nothing is left to try, or when confidence cannot be measured.
 */
export function nextEscalation(attempt: Attempt, threshold: number, cascade: ReadonlyMap<string, string>, tried: ReadonlySet<string>): Escalation | undefined {
  if (attempt.confidence === undefined || attempt.confidence >= threshold) return undefined;
  if (['direct', 'cot', 'plan', 'reflect'].includes(attempt.strategy)) return { kind: 'stronger_strategy', strategy: 'asc' };
  const samples = attempt.maxSamples ?? 8;
  if ((attempt.strategy === 'asc' || attempt.strategy === 'sc' || attempt.strategy === 'bon') && samples * 2 <= MAX_SAMPLES_CEILING && !tried.has(`samples:${samples * 2}`)) {
    return { kind: 'more_samples', maxSamples: samples * 2 };
  }
  const larger = cascade.get(attempt.model);
  if (larger && !tried.has(`model:${larger}`)) return { kind: 'larger_model', model: larger };
  return undefined;
}
