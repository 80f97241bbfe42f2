// Balancing policies by name, as chosen per model in config.
import type { Random } from '../../core/index.js';
import { PrefixAwarePolicy } from './prefix-aware.js';
import { latencyAware, leastOutstanding, roundRobin, weighted } from './simple.js';
import type { BalancingPolicy, PolicyName } from './types.js';

export function createPolicy(name: PolicyName, random: Random): BalancingPolicy {
  switch (name) {
    case 'round_robin':
      return roundRobin();
    case 'weighted':
      return weighted(random);
    case 'least_outstanding':
      return leastOutstanding(random);
    case 'latency':
      return latencyAware(random);
    case 'prefix_aware':
      return new PrefixAwarePolicy(random);
  }
}

export * from './types.js';
export { PrefixAwarePolicy, textBlockHashes, DEFAULT_PREFIX_OPTIONS, type PrefixDecision, type PrefixAwareOptions } from './prefix-aware.js';
export { weightedIndex, cheapestIndex, roundRobin, weighted, leastOutstanding, latencyAware } from './simple.js';
