// When to try again: retryable errors only, a bounded number of attempts, capped exponential backoff with jitter.
import type { AutoglmError, Random } from '../core/index.js';

export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 3, baseDelayMs: 20, maxDelayMs: 1000 };

/** Milliseconds to wait before the next attempt, or undefined when the error must reach the caller. */
export function retryDelay(error: AutoglmError, attemptsMade: number, options: RetryOptions, random: Random): number | undefined {
  if (!error.retryable || attemptsMade >= options.attempts) return undefined;
  const backoff = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attemptsMade - 1));
  return backoff * (0.5 + random.next() / 2);
}

/** Errors that say the replica itself is unwell (as opposed to the request being refused or rate limited). */
export const countsAgainstReplica = (error: AutoglmError): boolean => error.status >= 500;
