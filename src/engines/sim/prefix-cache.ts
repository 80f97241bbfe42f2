// A block-level prefix cache like vLLM's: prompts split into fixed-size token blocks, each keyed by a chained hash.
import { LRUCache } from 'lru-cache';
import { FNV_OFFSET, fnv1a } from '../../core/index.js';

/** FNV-1a over token ids, chained with the previous block's hash so a block is only a hit after the same prefix. */
function blockHash(previous: number, tokens: readonly number[]): number {
  return tokens.reduce(fnv1a, (previous ^ FNV_OFFSET) >>> 0);
}

export function blockHashes(tokens: readonly number[], blockSize: number): number[] {
  const hashes: number[] = [];
  let previous = 0;
  for (let start = 0; start + blockSize <= tokens.length; start += blockSize) {
    previous = blockHash(previous, tokens.slice(start, start + blockSize));
    hashes.push(previous);
  }
  return hashes;
}

export class PrefixCache {
  private readonly blocks: LRUCache<number, true> | undefined;

  constructor(
    private readonly blockSize: number,
    capacityBlocks: number,
  ) {
    this.blocks = capacityBlocks > 0 ? new LRUCache({ max: capacityBlocks }) : undefined;
  }

  /** How many leading prompt tokens are already cached; the blocks found are refreshed as recently used. */
  lookup(tokens: readonly number[]): number {
    if (!this.blocks) return 0;
    let hits = 0;
    for (const hash of blockHashes(tokens, this.blockSize)) {
      if (!this.blocks.get(hash)) break;
      hits++;
    }
    return hits * this.blockSize;
  }

  insert(tokens: readonly number[]): void {
    if (!this.blocks) return;
    for (const hash of blockHashes(tokens, this.blockSize)) this.blocks.set(hash, true);
  }
}
