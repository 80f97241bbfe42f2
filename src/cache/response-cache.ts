// The response cache wrapper: an exact repeat of a deterministic request, from the same tenant, is answered from the
// cache (streams replay their chunks as streams). Nothing is shared between tenants: the tenant is part of the key.
import { createHash } from 'node:crypto';
import { complete, completionChunks, gather, type CallContext, type ChatChunk, type ChatModel, type ChatRequest } from '../core/index.js';
import type { CacheStore } from './cache-store.js';

export const CACHE_HEADER = 'x-autoglm-cache';

/** Everything that changes the answer, and the tenant; not `stream`, so a whole answer and a stream share an entry. */
export function cacheKey(req: ChatRequest, tenant: string): string {
  const normalized = JSON.stringify([
    tenant,
    req.model,
    req.input,
    req.maxTokens ?? null,
    req.temperature ?? null,
    req.topP ?? null,
    req.topK ?? null,
    req.minP ?? null,
    req.seed ?? null,
    req.frequencyPenalty ?? null,
    req.presencePenalty ?? null,
    req.stop,
    req.ignoreEos ?? false,
    req.responseFormat,
    req.n,
    req.tools ?? null,
    req.toolChoice ?? null,
    req.parallelToolCalls ?? null,
    req.logprobs ?? null,
  ]);
  return createHash('sha256').update(normalized).digest('base64url');
}

/** Cached only when the same request gives the same answer (temperature 0 or a seed), or the caller asks. */
export function cacheable(req: ChatRequest, ctx: CallContext): boolean {
  if (ctx.cacheMode === 'bypass') return false;
  return ctx.cacheMode === 'force' || req.temperature === 0 || req.seed !== undefined;
}

/** A finished, error-free answer worth keeping: every choice ended by stop, length or its tool calls. */
function finishedCleanly(chunks: ChatChunk[]): boolean {
  const finishes = chunks.filter((c) => c.type === 'finish');
  return finishes.length > 0 && finishes.every((c) => c.type === 'finish' && (c.reason === 'stop' || c.reason === 'length' || c.reason === 'tool_calls'));
}

/** A cached answer: its chunks, and the model version that answered when a release name was asked for. */
interface CacheEntry {
  chunks: ChatChunk[];
  model?: string;
}

/** Entries written before the version was kept are bare chunk arrays. */
function readEntry(stored: string): CacheEntry {
  const parsed = JSON.parse(stored) as CacheEntry | ChatChunk[];
  return Array.isArray(parsed) ? { chunks: parsed } : parsed;
}

export function withResponseCache(inner: ChatModel, store: CacheStore, options: { ttlSeconds: number }): ChatModel {
  const ttlMs = options.ttlSeconds * 1000;

  function lookup(req: ChatRequest, ctx: CallContext): Promise<{ key: string; hit?: ChatChunk[] } | undefined> {
    if (!cacheable(req, ctx)) return Promise.resolve(undefined);
    if (!ctx.trace) return read(req, ctx);
    return ctx.trace.span('cache.lookup', {}, async (span) => {
      const found = await read(req, ctx);
      span.set({ 'autoglm.cache.hit': found.hit !== undefined });
      return found;
    });
  }

  async function read(req: ChatRequest, ctx: CallContext): Promise<{ key: string; hit?: ChatChunk[] }> {
    const key = cacheKey(req, ctx.tenant ?? '');
    // A cache that is down must not take the API with it: a failed read is a miss.
    const stored = await store.get(key).catch(() => undefined);
    const hit = stored === undefined ? undefined : readEntry(stored);
    if (ctx.report) {
      ctx.report.cache = hit ? 'hit' : 'miss';
      ctx.report.headers[CACHE_HEADER] = ctx.report.cache;
      // The version of a release that gave the answer is still the one that answered it.
      if (hit?.model !== undefined) ctx.report.model = hit.model;
    }
    return { key, hit: hit?.chunks };
  }

  const save = (key: string, chunks: ChatChunk[], ctx: CallContext) => {
    if (!finishedCleanly(chunks)) return undefined;
    const entry: CacheEntry = { chunks, ...(ctx.report?.model !== undefined && { model: ctx.report.model }) };
    return store.set(key, JSON.stringify(entry), ttlMs).catch(() => undefined);
  };

  return {
    models: () => inner.models(),
    ...(inner.countTokens && { countTokens: (req: ChatRequest) => inner.countTokens!(req) }),

    async *stream(req, ctx) {
      const cached = await lookup(req, ctx);
      if (cached?.hit) {
        yield* cached.hit;
        return;
      }
      if (!cached) {
        yield* inner.stream(req, ctx);
        return;
      }
      const seen: ChatChunk[] = [];
      for await (const chunk of inner.stream(req, ctx)) {
        seen.push(chunk);
        yield chunk;
      }
      await save(cached.key, seen, ctx);
    },

    async complete(req, ctx) {
      const cached = await lookup(req, ctx);
      if (cached?.hit) return gather(cached.hit);
      const result = await complete(inner, req, ctx);
      if (cached) await save(cached.key, completionChunks(result), ctx);
      return result;
    },
  };
}
