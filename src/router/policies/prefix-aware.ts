// Prefix-cache-aware routing: send a prompt where its prefix was sent before, unless that replica is overloaded.
// Like SGLang's cache-aware router, it keeps an approximate per-replica record of routed prompts (here chained
// hashes of fixed-size text blocks in an LRU), and falls back to the least loaded replica when load is imbalanced.
import { LRUCache } from 'lru-cache';
import { FNV_OFFSET, fnv1a, type Random } from '../../core/index.js';
import { cheapestIndex, loadOf } from './simple.js';
import type { BalancingPolicy, ReplicaView, RoutingRequest } from './types.js';

export interface PrefixAwareOptions {
  /** Characters per block; a block matches only when every character before it matched too. */
  blockChars: number;
  /** Blocks remembered per replica. */
  blocksPerReplica: number;
  /** Fraction of the prompt's blocks that must match to route by cache. */
  matchThreshold: number;
  /** Imbalance that switches to least-loaded: max - min outstanding above this... */
  balanceAbsThreshold: number;
  /** ...and max above min times this. */
  balanceRelThreshold: number;
}

export const DEFAULT_PREFIX_OPTIONS: PrefixAwareOptions = {
  blockChars: 64,
  blocksPerReplica: 50_000,
  matchThreshold: 0.3,
  balanceAbsThreshold: 8,
  balanceRelThreshold: 1.5,
};

export function textBlockHashes(text: string, blockChars: number): number[] {
  const hashes: number[] = [];
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    h = fnv1a(h, text.charCodeAt(i));
    if ((i + 1) % blockChars === 0) hashes.push(h);
  }
  return hashes;
}

export interface PrefixDecision {
  index: number;
  /** Blocks of the prompt already routed to the chosen replica. */
  matchedBlocks: number;
  totalBlocks: number;
  reason: 'cache' | 'balance' | 'least-loaded';
}

export class PrefixAwarePolicy implements BalancingPolicy {
  readonly name = 'prefix_aware';
  private readonly seen = new Map<string, LRUCache<number, true>>();
  /** The last decision, for the prefix-routing hit ratio metric. */
  last: PrefixDecision | undefined;

  constructor(
    private readonly random: Random,
    private readonly options: PrefixAwareOptions = DEFAULT_PREFIX_OPTIONS,
  ) {}

  private matched(replica: string, blocks: readonly number[]): number {
    const cache = this.seen.get(replica);
    if (!cache) return 0;
    let n = 0;
    while (n < blocks.length && cache.has(blocks[n]!)) n++;
    return n;
  }

  decide(replicas: readonly ReplicaView[], req: RoutingRequest): PrefixDecision {
    const blocks = textBlockHashes(req.prompt, this.options.blockChars);
    const loads = replicas.map(loadOf);
    const leastLoaded = cheapestIndex(loads, this.random);
    const [max, min] = [Math.max(...loads), Math.min(...loads)];
    const imbalanced = max - min > this.options.balanceAbsThreshold && max > min * this.options.balanceRelThreshold;
    const matches = replicas.map((r) => this.matched(r.id, blocks));
    if (imbalanced) return { index: leastLoaded, matchedBlocks: matches[leastLoaded]!, totalBlocks: blocks.length, reason: 'balance' };
    const best = Math.max(...matches);
    if (blocks.length > 0 && best / blocks.length >= this.options.matchThreshold) {
      // Among equally good matches, the least loaded.
      const index = cheapestIndex(
        loads.map((l, i) => (matches[i] === best ? l : Infinity)),
        this.random,
      );
      return { index, matchedBlocks: best, totalBlocks: blocks.length, reason: 'cache' };
    }
    return { index: leastLoaded, matchedBlocks: matches[leastLoaded]!, totalBlocks: blocks.length, reason: 'least-loaded' };
  }

  pick(replicas: readonly ReplicaView[], req: RoutingRequest): number {
    this.last = this.decide(replicas, req);
    return this.last.index;
  }

  routed(replica: ReplicaView, req: RoutingRequest): void {
    let cache = this.seen.get(replica.id);
    if (!cache) this.seen.set(replica.id, (cache = new LRUCache({ max: this.options.blocksPerReplica })));
    for (const h of textBlockHashes(req.prompt, this.options.blockChars)) cache.set(h, true);
  }
}
