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
  /** Samples drawn, and the leading answer's votes among them (for strategies that vote). */
  taken?: number;
  leaderVotes?: number;
  /** An adaptive vote that stopped by its own rule before its cap: a higher cap would stop it at the same place. */
  settled?: boolean;
}

export const MAX_SAMPLES_CEILING = 32;

/**
 * Whether drawing up to `cap` samples could lift the vote share to the threshold, even if every new sample agreed
 * with the leader. When it cannot, more samples only spend tokens.
 */
export function canReach(attempt: Attempt, cap: number, threshold: number): boolean {
  if (attempt.taken === undefined || attempt.leaderVotes === undefined) return true;
  const added = cap - attempt.taken;
  return added > 0 && (attempt.leaderVotes + added) / cap >= threshold;
}

/**
 * One step up the ladder: a single-sample strategy becomes adaptive self-consistency; a vote draws twice as many
 * samples (continuing from those it has, up to a ceiling) when it used all it was allowed and more could reach the
 * threshold; then the cascade's larger model is asked. Undefined when confident enough, when nothing left to try
 * could raise the confidence, or when confidence cannot be measured.
 */
export function nextEscalation(attempt: Attempt, threshold: number, cascade: ReadonlyMap<string, string>, tried: ReadonlySet<string>): Escalation | undefined {
  if (attempt.confidence === undefined || attempt.confidence >= threshold) return undefined;
  if (['direct', 'cot', 'plan', 'reflect'].includes(attempt.strategy)) return { kind: 'stronger_strategy', strategy: 'asc' };
  const samples = attempt.maxSamples ?? 8;
  const more = samples * 2;
  if (
    (attempt.strategy === 'asc' || attempt.strategy === 'sc' || attempt.strategy === 'bon') &&
    !attempt.settled &&
    more <= MAX_SAMPLES_CEILING &&
    !tried.has(`samples:${more}`) &&
    canReach(attempt, more, threshold)
  ) {
    return { kind: 'more_samples', maxSamples: more };
  }
  const larger = cascade.get(attempt.model);
  if (larger && !tried.has(`model:${larger}`)) return { kind: 'larger_model', model: larger };
  return undefined;
}
