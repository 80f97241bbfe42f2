// Where cached responses live: an in-process LRU bounded by entries and bytes, or Redis shared by every process.
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

export interface CacheStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
}

export class MemoryCacheStore implements CacheStore {
  private readonly lru: LRUCache<string, string>;

  constructor(options: { maxEntries: number; maxBytes: number }) {
    this.lru = new LRUCache({ max: options.maxEntries, maxSize: options.maxBytes, sizeCalculation: (v, k) => v.length * 2 + k.length * 2 });
  }

  async get(key: string): Promise<string | undefined> {
    return this.lru.get(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.lru.set(key, value, { ttl: ttlMs });
  }
}

export class RedisCacheStore implements CacheStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'autoglm:cache:',
  ) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.prefix + key)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + key, value, 'PX', ttlMs);
  }
}
