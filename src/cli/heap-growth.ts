// How much garbage a long-running server lets the JavaScript heap hold before V8 collects it.
import { setFlagsFromString } from 'node:v8';

/**
 * The old generation may grow to 1.5 times what the last full collection left live. V8 picks its own factor from the
 * heap limit, and on a machine with gigabytes free that is up to 4x: a gateway relaying 256 streams (about 30 MB live)
 * then held 85 MB of old-generation garbage between collections, and its RSS peaked 40-60 MB higher than it had to.
 * Measured with `npm run bench:gateway`; the CPU a request did not move. The flag replaces V8's factor in every mode,
 * its memory-saving ones (1.1 and 1.3) included; those serve a heap near its limit, and a gateway's few tens of MB
 * live are nowhere near the gigabytes of this one's.
 */
export const SERVER_HEAP_GROWTH_PERCENT = 50;

/**
 * Sets the growth factor for this process, unless whoever started node chose their own (`node
 * --heap-growing-percent=N`, which then wins). V8 reads this flag at every full collection, so setting it after start
 * takes effect from the next one. Returns whether it was set.
 */
export function boundHeapGrowth(nodeArgs: readonly string[] = process.execArgv): boolean {
  if (nodeArgs.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return false;
  setFlagsFromString(`--heap-growing-percent=${SERVER_HEAP_GROWTH_PERCENT}`);
  return true;
}
