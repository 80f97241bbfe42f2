// Which version a request goes to: a stable hash of the caller's sticky key against the canary's share.
import { fnv1aString } from '../../core/index.js';

function bucketOf(key: string): number {
  const h = fnv1aString(key);
  // FNV's low bits mix poorly; fold the high half in before taking the bucket.
  return ((h ^ (h >>> 16)) >>> 0) % 10_000;
}

/**
 * True when this key falls in the canary's share. A key's bucket never changes, so as the share grows the callers
 * already on the canary stay there: nobody flips between versions mid-conversation.
 */
export function inCanary(stickyKey: string, canaryPercent: number): boolean {
  if (canaryPercent <= 0) return false;
  if (canaryPercent >= 100) return true;
  return bucketOf(stickyKey) < canaryPercent * 100;
}
