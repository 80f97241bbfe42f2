// Round robin, weighted random, least outstanding and latency-aware: small pure choices over replica snapshots.
import type { Random } from '../../core/index.js';
import type { BalancingPolicy, ReplicaView } from './types.js';

/** Index drawn with probability proportional to its weight; the one weighted draw every policy shares. */
export function weightedIndex(weights: readonly number[], random: Random): number {
  const total = weights.reduce((a, b) => a + Math.max(0, b), 0);
  if (total <= 0) return Math.floor(random.next() * weights.length);
  let r = random.next() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= Math.max(0, weights[i]!);
    if (r < 0) return i;
  }
  return weights.length - 1;
}

/** The index with the lowest cost; ties broken at random so equal replicas share load. */
export function cheapestIndex(costs: readonly number[], random: Random): number {
  // One pass, no arrays: this runs on every request. Reservoir sampling picks uniformly among the ties.
  let best = Infinity;
  let chosen = 0;
  let ties = 0;
  for (let i = 0; i < costs.length; i++) {
    const c = costs[i]!;
    if (c < best) {
      best = c;
      chosen = i;
      ties = 1;
    } else if (c === best && random.next() * ++ties < 1) {
      chosen = i;
    }
  }
  return chosen;
}

export function roundRobin(): BalancingPolicy {
  let next = 0;
  return { name: 'round_robin', pick: (replicas) => next++ % replicas.length };
}

export function weighted(random: Random): BalancingPolicy {
  return {
    name: 'weighted',
    pick: (replicas) =>
      weightedIndex(
        replicas.map((r) => r.weight),
        random,
      ),
  };
}

/** Outstanding requests per unit of weight: a replica twice as strong may hold twice as many. */
export const loadOf = (r: ReplicaView) => r.outstanding / Math.max(r.weight, 1e-9);

export function leastOutstanding(random: Random): BalancingPolicy {
  return { name: 'least_outstanding', pick: (replicas) => cheapestIndex(replicas.map(loadOf), random) };
}

/**
 * Expected wait: smoothed time to first token grown by the queue in front of it. A replica never measured is tried
 * first, so a new or recovered replica gets a chance to show its speed.
 */
export function latencyAware(random: Random): BalancingPolicy {
  return {
    name: 'latency',
    pick: (replicas) =>
      cheapestIndex(
        replicas.map((r) => (r.ewmaTtftMs === undefined ? -1 : r.ewmaTtftMs * (1 + loadOf(r)))),
        random,
      ),
  };
}
