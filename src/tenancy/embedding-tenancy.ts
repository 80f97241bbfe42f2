// The tenancy wrapper for embeddings: admitted against the tenant's limits by the input tokens it will use, settled
// with the tokens it did use, and written to the usage ledger (prompt tokens only) before the caller sees the answer.
import {
  estimateTokens,
  toAutoglmError,
  type CallContext,
  type EmbeddingModel,
  type EmbeddingRequest,
  type Embeddings,
  type EmbeddingUsage,
} from '../core/index.js';
import { LimitRefusal, RateLimits, type Admission } from './rate-limits.js';
import { ANONYMOUS_TENANT, type TenancyParts } from './tenancy-model.js';

/** About as many tokens as the inputs hold: text by its length, token arrays exactly. */
const estimateInputTokens = (req: EmbeddingRequest): number =>
  req.inputs.reduce((n, input) => n + (typeof input === 'string' ? estimateTokens(input) : input.length), 0);

export function withEmbeddingTenancy(inner: EmbeddingModel, parts: TenancyParts): EmbeddingModel {
  const now = parts.now ?? performance.now.bind(performance);

  const record = (req: EmbeddingRequest, ctx: CallContext, tenant: string, started: number, status: number, usage: EmbeddingUsage | undefined) =>
    parts.ledger.record({
      timeMs: Date.now(),
      requestId: ctx.requestId,
      tenant,
      keyId: ctx.keyId,
      model: req.model,
      replica: ctx.report?.replica,
      promptTokens: usage?.promptTokens ?? 0,
      completionTokens: 0,
      cachedTokens: 0,
      status,
      latencyMs: Math.round((now() - started) * 1000) / 1000,
      cacheHit: ctx.report?.cache === 'hit',
    });

  /** Admits the call (a 429 or 403 is recorded in the ledger too); undefined for a caller with no limits. */
  async function admit(req: EmbeddingRequest, ctx: CallContext, tenant: string, started: number): Promise<Admission | undefined> {
    const tenantLimits = parts.store.tenant(tenant)?.limits ?? {};
    const keyLimits = ctx.keyId ? parts.store.keyLimits(ctx.keyId) : undefined;
    if (!RateLimits.anySet(tenantLimits) && !RateLimits.anySet(keyLimits)) return undefined;
    try {
      const tokens = RateLimits.countsTokens(tenantLimits) || RateLimits.countsTokens(keyLimits) ? estimateInputTokens(req) : 0;
      const admission = await parts.limits.admit({ tenant, keyId: ctx.keyId, tenantLimits, keyLimits }, req.model, tokens);
      if (ctx.report) Object.assign(ctx.report.headers, admission.headers);
      return admission;
    } catch (err) {
      if (err instanceof LimitRefusal && ctx.report) Object.assign(ctx.report.headers, err.headers);
      await record(req, ctx, tenant, started, toAutoglmError(err).status, undefined);
      throw err;
    }
  }

  return {
    models: () => inner.models(),
    async embed(req: EmbeddingRequest, ctx: CallContext): Promise<Embeddings> {
      const started = now();
      const tenant = ctx.tenant ?? ANONYMOUS_TENANT;
      const admission = await admit(req, ctx, tenant, started);
      let result: Embeddings | undefined;
      let status = 200;
      try {
        result = await inner.embed(req, { ...ctx, tenant });
        return result;
      } catch (err) {
        status = ctx.signal.aborted ? 499 : toAutoglmError(err).status;
        throw err;
      } finally {
        const hit = ctx.report?.cache === 'hit';
        await Promise.all([record(req, ctx, tenant, started, status, result?.usage), admission?.settle(hit || !result ? 0 : result.usage.promptTokens)]);
      }
    },
  };
}
