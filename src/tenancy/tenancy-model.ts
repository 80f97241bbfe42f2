// The tenancy wrapper: every call is admitted against its tenant's limits, settled with the tokens it really used,
// and written to the usage ledger before the caller sees the end of the response.
import {
  complete,
  estimateTokens,
  isOutput,
  promptTextOf,
  toAutoglmError,
  watchStream,
  type CallContext,
  type CallTrace,
  type ChatChunk,
  type ChatCompletion,
  type ChatModel,
  type ChatRequest,
  type Usage,
} from '../core/index.js';
import type { Limits } from '../config/index.js';
import { LimitRefusal, RateLimits, type Admission } from './rate-limits.js';
import type { TenantStore } from './tenant-store.js';
import type { UsageLedger } from './usage-ledger.js';

/** Completion tokens assumed for a request that sets no max_tokens, until its real usage is known. */
const DEFAULT_COMPLETION_ESTIMATE = 256;
export const ANONYMOUS_TENANT = 'anonymous';
interface Admitted {
  admission: Admission;
  inner: CallContext;
  tenant: string;
}

/** The admission of a caller with no limits: nothing to count, nothing to settle. */
const UNLIMITED: Admission = { headers: {}, settle: async () => undefined };

/**
 * The context the layers below see: the caller's own when it already names this tenant and priority (auth off, or a
 * key with no priority of its own), else a copy. A copy of a context whose shape varies between callers takes V8's slow
 * path for spreads: about 3 µs a request in a CPU profile of the gateway.
 */
function withCaller(ctx: CallContext, tenant: string, priority: number | undefined): CallContext {
  return ctx.tenant === tenant && ctx.priority === priority ? ctx : { ...ctx, tenant, priority };
}

export interface TenancyParts {
  store: TenantStore;
  limits: RateLimits;
  ledger: UsageLedger;
  now?: () => number;
}

const estimateRequestTokens = (req: ChatRequest) => estimateTokens(promptTextOf(req)) + (req.maxTokens ?? DEFAULT_COMPLETION_ESTIMATE) * req.n;

export function withTenancy(inner: ChatModel, parts: TenancyParts): ChatModel {
  const now = parts.now ?? performance.now.bind(performance);

  /**
   * Admits the call (throwing 429/403, recorded in the ledger) and returns the context the layers below see. A caller
   * with no limits is admitted synchronously: most calls are, and an await costs a turn of the microtask queue.
   */
  function admit(req: ChatRequest, ctx: CallContext, started: number): Admitted | Promise<Admitted> {
    const tenant = ctx.tenant ?? ANONYMOUS_TENANT;
    const tenantLimits = parts.store.tenant(tenant)?.limits ?? {};
    const keyLimits = ctx.keyId ? parts.store.keyLimits(ctx.keyId) : undefined;
    const priority = keyLimits?.priority ?? tenantLimits.priority ?? ctx.priority;
    if (!RateLimits.anySet(tenantLimits) && !RateLimits.anySet(keyLimits)) return { admission: UNLIMITED, inner: withCaller(ctx, tenant, priority), tenant };
    return admitLimited(req, ctx, started, { tenant, tenantLimits, keyLimits, priority });
  }

  /** Admission in its own span: a limit's wait (or refusal) shows in the trace. */
  function tracedAdmit(trace: CallTrace, req: ChatRequest, ctx: CallContext, started: number): Promise<Admitted> {
    return trace.span('tenancy.admit', { 'autoglm.tenant': ctx.tenant ?? ANONYMOUS_TENANT }, async () => admit(req, ctx, started));
  }

  async function admitLimited(
    req: ChatRequest,
    ctx: CallContext,
    started: number,
    who: { tenant: string; tenantLimits: Limits; keyLimits: Limits | undefined; priority: number | undefined },
  ): Promise<Admitted> {
    const { tenant, tenantLimits, keyLimits, priority } = who;
    try {
      const tokens = RateLimits.countsTokens(tenantLimits) || RateLimits.countsTokens(keyLimits) ? estimateRequestTokens(req) : 0;
      const admission = await parts.limits.admit({ tenant, keyId: ctx.keyId, tenantLimits, keyLimits }, req.model, tokens);
      if (ctx.report) Object.assign(ctx.report.headers, admission.headers);
      return { admission, inner: withCaller(ctx, tenant, priority), tenant };
    } catch (err) {
      if (err instanceof LimitRefusal && ctx.report) Object.assign(ctx.report.headers, err.headers);
      await record(req, ctx, tenant, started, toAutoglmError(err).status, undefined);
      throw err;
    }
  }

  function record(req: ChatRequest, ctx: CallContext, tenant: string, started: number, status: number, usage: Usage | undefined): Promise<void> {
    return parts.ledger.record({
      timeMs: Date.now(),
      requestId: ctx.requestId,
      tenant,
      keyId: ctx.keyId,
      model: req.model,
      replica: ctx.report?.replica,
      promptTokens: usage?.promptTokens ?? 0,
      completionTokens: usage?.completionTokens ?? 0,
      cachedTokens: usage?.cachedPromptTokens ?? 0,
      status,
      latencyMs: Math.round((now() - started) * 1000) / 1000,
      cacheHit: ctx.report?.cache === 'hit',
      answerKey: ctx.answerKey,
    });
  }

  /** Journals the ledger row and settles the limits with what was used (nothing for a cache hit), before the end. */
  function finish(req: ChatRequest, ctx: CallContext, call: Admitted, started: number, status: number, usage: Usage | undefined): Promise<unknown> {
    const journaled = record(req, ctx, call.tenant, started, status, usage);
    if (call.admission === UNLIMITED) return journaled;
    return Promise.all([journaled, call.admission.settle(ctx.report?.cache === 'hit' || !usage ? 0 : usage.promptTokens + usage.completionTokens)]);
  }

  return {
    models: () => inner.models(),
    // Counting a prompt is not a call: it is neither limited nor journaled, and passes to the model that can count.
    ...(inner.countTokens && { countTokens: (req: ChatRequest) => inner.countTokens!(req) }),

    stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
      const started = now();
      let call: Admitted;
      let usage: Usage | undefined;
      let completionChunks = 0;
      let status = 499;
      // Admitted on the first read, as a caller starts a stream; a refusal is thrown to it, journaled by admitLimited.
      return watchStream(
        async () => {
          const admitted = ctx.trace ? tracedAdmit(ctx.trace, req, ctx, started) : admit(req, ctx, started);
          call = admitted instanceof Promise ? await admitted : admitted;
          try {
            return inner.stream(req, call.inner);
          } catch (err) {
            // Admitted but never opened: the call is still journaled and its admission settled.
            await finish(req, ctx, call, started, ctx.signal.aborted ? 499 : toAutoglmError(err).status, undefined);
            throw err;
          }
        },
        {
          item(chunk) {
            if (chunk.type === 'usage') usage = chunk.usage;
            else if (isOutput(chunk)) completionChunks++;
            else if (chunk.type === 'error') status = chunk.error.status;
          },
          ended(how, error) {
            if (how === 'done' && status === 499) status = 200;
            else if (how === 'error') status = ctx.signal.aborted ? 499 : toAutoglmError(error).status;
            // A stream cut short reports no usage: count what was sent, about a token a chunk.
            usage ??= { promptTokens: estimateTokens(promptTextOf(req)), completionTokens: completionChunks, cachedPromptTokens: 0 };
            return finish(req, ctx, call, started, status, usage);
          },
        },
      );
    },

    async complete(req: ChatRequest, ctx: CallContext): Promise<ChatCompletion> {
      const started = now();
      const admitted = ctx.trace ? tracedAdmit(ctx.trace, req, ctx, started) : admit(req, ctx, started);
      const call = admitted instanceof Promise ? await admitted : admitted;
      let result: ChatCompletion | undefined;
      let status = 200;
      try {
        result = await complete(inner, req, call.inner);
        return result;
      } catch (err) {
        status = ctx.signal.aborted ? 499 : toAutoglmError(err).status;
        throw err;
      } finally {
        await finish(req, ctx, call, started, status, result?.usage);
      }
    },
  };
}
