// Prefix reuse: pick the free sequence whose KV cache already holds the longest start of the new prompt.

export interface CachedSequence {
  /** Tokens currently held in this sequence's KV cache, in order. */
  readonly cachedTokens: readonly number[];
}

export function sharedPrefixLength(a: readonly number[], b: readonly number[]): number {
  const limit = Math.min(a.length, b.length);
  let i = 0;
  while (i < limit && a[i] === b[i]) i++;
  return i;
}

/**
 * Among free sequences, the one sharing the longest prefix with the prompt; ties go to the emptiest sequence
 * (so a cold request does not evict a warm cache needlessly), then to the first listed.
 */
export function pickByLongestPrefix<S extends CachedSequence>(free: readonly S[], prompt: readonly number[]): S {
  let best = free[0];
  if (!best) throw new Error('pickByLongestPrefix needs at least one free sequence');
  let bestShared = sharedPrefixLength(best.cachedTokens, prompt);
  for (const candidate of free.slice(1)) {
    const shared = sharedPrefixLength(candidate.cachedTokens, prompt);
    if (shared > bestShared || (shared === bestShared && candidate.cachedTokens.length < best.cachedTokens.length)) {
      best = candidate;
      bestShared = shared;
    }
  }
  return best;
}

/**
 * How many prompt tokens can be kept from the cache. At least one prompt token is always evaluated again,
 * because generation needs the logits of the last prompt token.
 */
export function reusableTokens(cached: readonly number[], prompt: readonly number[]): number {
  return Math.min(sharedPrefixLength(cached, prompt), Math.max(0, prompt.length - 1));
}
