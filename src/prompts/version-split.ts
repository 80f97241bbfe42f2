// Which version a request that names none gets under a weighted split: the releases room's sticky hash, cumulated
// over the versions' weights, so a caller keeps its version while the weights stay as they are.
import { inCanary } from '../router/index.js';

/**
 * The version whose share a sticky key falls in. The versions are taken in order of their numbers; a key's bucket
 * is fixed, and `inCanary(key, percent)` is monotone in percent, so version i is the first whose cumulated share
 * holds the key.
 */
export function splitVersion(split: Readonly<Record<string, number>>, stickyKey: string): number {
  const entries = Object.entries(split)
    .map(([v, w]) => [Number(v), w] as const)
    .filter(([, w]) => w > 0)
    .sort((a, b) => a[0] - b[0]);
  if (entries.length === 0) return Math.min(...Object.keys(split).map(Number));
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let cumulated = 0;
  for (const [version, weight] of entries) {
    cumulated += weight;
    if (inCanary(stickyKey, (cumulated / total) * 100)) return version;
  }
  return entries[entries.length - 1]![0];
}
