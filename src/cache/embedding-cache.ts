// The response cache for embeddings: the same inputs to the same model, from the same tenant, give the same vectors,
// so every call is cacheable (unless the caller bypasses the cache); a hit costs the tenant no tokens.
import { createHash } from 'node:crypto';
import type { CallContext, EmbeddingModel, EmbeddingRequest, Embeddings } from '../core/index.js';
import type { CacheStore } from './cache-store.js';
import { CACHE_HEADER } from './response-cache.js';

/** What changes the vectors, and the tenant; `user` does not change them. The tag keeps them apart from chat entries. */
export function embeddingCacheKey(req: EmbeddingRequest, tenant: string): string {
  return createHash('sha256')
    .update(JSON.stringify(['embeddings', tenant, req.model, req.inputs, req.dimensions ?? null]))
    .digest('base64url');
}

export function withEmbeddingCache(inner: EmbeddingModel, store: CacheStore, options: { ttlSeconds: number }): EmbeddingModel {
  const ttlMs = options.ttlSeconds * 1000;
  return {
    models: () => inner.models(),
    async embed(req: EmbeddingRequest, ctx: CallContext): Promise<Embeddings> {
      if (ctx.cacheMode === 'bypass') return inner.embed(req, ctx);
      const key = embeddingCacheKey(req, ctx.tenant ?? '');
      // A cache that is down must not take the API with it: a failed read is a miss, a failed write is forgotten.
      const stored = await store.get(key).catch(() => undefined);
      if (ctx.report) {
        ctx.report.cache = stored === undefined ? 'miss' : 'hit';
        ctx.report.headers[CACHE_HEADER] = ctx.report.cache;
      }
      if (stored !== undefined) return JSON.parse(stored) as Embeddings;
      const result = await inner.embed(req, ctx);
      await store.set(key, JSON.stringify(result), ttlMs).catch(() => undefined);
      return result;
    },
  };
}
