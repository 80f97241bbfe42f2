// The managed-prompts layer: a ChatModel that renders the prompt a request names (reasoning.prompt) or its model's
// default prompt around the caller's messages, says which version answered, and remembers it for feedback.
import type { CallContext, ChatChunk, ChatCompletion, ChatModel, ChatRequest } from '../core/index.js';
import { complete } from '../core/index.js';
import { parseStrategyModel } from '../reasoning/index.js';
import { ANONYMOUS_TENANT } from '../tenancy/index.js';
import type { PromptCatalog, Resolved } from './prompt-catalog.js';
import { parsePromptRef, promptLabel, renderPrompt } from './template.js';

export const PROMPT_HEADER = 'x-autoglm-prompt';

export function withManagedPrompts(inner: ChatModel, catalog: PromptCatalog): ChatModel {
  /** The prompt a request names, or its model's default; undefined for most calls, which have neither. */
  function refOf(req: ChatRequest): { text: string; param: string } | undefined {
    if (req.reasoning?.prompt !== undefined) return { text: req.reasoning.prompt, param: 'reasoning.prompt' };
    const byModel = catalog.models[req.model] ?? (req.model.includes(':') ? catalog.models[parseStrategyModel(req.model).model] : undefined);
    return byModel === undefined ? undefined : { text: byModel, param: 'model' };
  }

  /** The request as the layer below gets it, and what served it; throws a 400 for an unknown prompt or version. */
  function prepare(req: ChatRequest, ctx: CallContext): { req: ChatRequest; resolved?: Resolved } {
    const tenant = ctx.tenant ?? ANONYMOUS_TENANT;
    const ref = refOf(req);
    // A call no prompt serves leaves no row here: feedback finds it in the ledger (see AnsweredLookup).
    if (!ref) return { req };
    const resolved = catalog.resolve(tenant, parsePromptRef(ref.text, ref.param), ctx.sessionKey ?? req.user ?? ctx.keyId ?? ctx.requestId);
    const { template, scope } = resolved;
    catalog.served({ requestId: ctx.requestId, answerKey: ctx.answerKey, tenant, prompt: template.name, version: template.version, scope });
    if (ctx.report) ctx.report.headers[PROMPT_HEADER] = promptLabel(template);
    return { req: renderPrompt(template, req), resolved };
  }

  async function* watched(stream: AsyncIterable<ChatChunk>, resolved: Resolved): AsyncGenerator<ChatChunk> {
    const started = performance.now();
    let ok = true;
    try {
      for await (const chunk of stream) {
        if (chunk.type === 'error') ok = false;
        yield chunk;
      }
    } catch (err) {
      ok = false;
      throw err;
    } finally {
      catalog.outcome(resolved, { ok, latencyMs: performance.now() - started });
    }
  }

  return {
    models: () => inner.models(),
    ...(inner.countTokens && {
      countTokens: (req: ChatRequest) => {
        // A count has no caller to resolve a tenant's prompt for: the config's prompts are counted, others are not.
        const ref = refOf(req);
        let rendered = req;
        try {
          if (ref) rendered = renderPrompt(catalog.resolve(ANONYMOUS_TENANT, parsePromptRef(ref.text, ref.param), 'count').template, req);
        } catch {
          rendered = req;
        }
        return inner.countTokens!(rendered);
      },
    }),

    async complete(req: ChatRequest, ctx: CallContext): Promise<ChatCompletion> {
      const prepared = prepare(req, ctx);
      if (!prepared.resolved) return complete(inner, prepared.req, ctx);
      const started = performance.now();
      try {
        const result = await complete(inner, prepared.req, ctx);
        catalog.outcome(prepared.resolved, { ok: true, latencyMs: performance.now() - started });
        return result;
      } catch (err) {
        catalog.outcome(prepared.resolved, { ok: false, latencyMs: performance.now() - started });
        throw err;
      }
    },

    // A call without a prompt is the inner stream itself: every chunk would pay for a generator's hop.
    stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
      let prepared: ReturnType<typeof prepare>;
      try {
        prepared = prepare(req, ctx);
      } catch (err) {
        return failed(err);
      }
      return prepared.resolved ? watched(inner.stream(prepared.req, ctx), prepared.resolved) : inner.stream(prepared.req, ctx);
    },
  };
}

// biome-ignore lint/correctness/useYield: a stream that fails on its first read is what the caller consumes
async function* failed(err: unknown): AsyncGenerator<ChatChunk> {
  throw err;
}
