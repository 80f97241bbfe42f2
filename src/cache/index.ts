// Door of the cache room: the response cache wrapper and its stores.
export { withResponseCache, cacheKey, cacheable, CACHE_HEADER } from './response-cache.js';
export { MemoryCacheStore, RedisCacheStore, type CacheStore } from './cache-store.js';
export { withEmbeddingCache, embeddingCacheKey } from './embedding-cache.js';
