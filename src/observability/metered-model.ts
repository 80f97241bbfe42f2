// A ChatModel wrapper that records token counts and latencies of every stream that passes through it.
import { isOutput, watchStream, type CallContext, type ChatModel, type ChatRequest, type Usage } from '../core/index.js';
import type { ServerMetrics } from './metrics.js';
import { boundOnce } from './tallied-metrics.js';

export function withMetrics(inner: ChatModel, metrics: ServerMetrics): ChatModel {
  const innerComplete = inner.complete?.bind(inner);
  const tokensOf = boundOnce((model) => ({
    prompt: metrics.promptTokens.tally(model),
    cached: metrics.cachedPromptTokens.tally(model),
    completion: metrics.completionTokens.tally(model),
  }));
  const durationOf = (model: string, outcome: string) => metrics.requestDuration.tally(model, outcome);
  const ttftOf = (model: string) => metrics.timeToFirstToken.tally(model);
  const itlOf = (model: string) => metrics.interTokenLatency.tally(model);
  const counted = (model: string, usage: Usage) => {
    const t = tokensOf(model);
    t.prompt.inc(usage.promptTokens);
    // Counted even by 0: the series exists from the model's first call, as Prometheus queries expect.
    t.cached.inc(usage.cachedPromptTokens);
    t.completion.inc(usage.completionTokens);
  };
  return {
    models: () => inner.models(),
    // The engine's prompt count (count_tokens) passes through: counting is not a call to meter.
    ...(inner.countTokens && { countTokens: (req: ChatRequest) => inner.countTokens!(req) }),
    // A whole answer's first token is timed where it was generated, when a layer below noted it in the report (an
    // upstream that answers whole never says); there are no gaps between tokens to time.
    ...(innerComplete && {
      async complete(req: ChatRequest, ctx: CallContext) {
        const started = performance.now();
        let outcome = 'error';
        let tokens = 0;
        try {
          const result = await innerComplete(req, ctx);
          counted(req.model, result.usage);
          tokens = result.usage.completionTokens;
          outcome = 'ok';
          return result;
        } finally {
          const ms = performance.now() - started;
          durationOf(req.model, ctx.signal.aborted ? 'abort' : outcome).observe(ms / 1000);
          const at = ctx.report?.firstTokenAt;
          const ttftMs = outcome === 'ok' && at !== undefined && at >= started ? at - started : undefined;
          if (ttftMs !== undefined) ttftOf(req.model).observe(ttftMs / 1000);
          if (!ctx.signal.aborted) metrics.live.record({ ok: outcome === 'ok', latencyMs: ms, ttftMs, tokens });
        }
      },
    }),
    stream(req, ctx) {
      const model = req.model;
      // Bound before the first token, off the per-token path.
      const ttft = ttftOf(model);
      const itl = itlOf(model);
      const started = performance.now();
      let last = 0;
      let first: number | undefined;
      let tokens = 0;
      let outcome = 'abort';
      return watchStream(() => inner.stream(req, ctx), {
        item(chunk) {
          if (isOutput(chunk)) {
            const now = performance.now();
            if (last === 0) {
              first = now - started;
              ttft.observe(first / 1000);
            } else itl.observe((now - last) / 1000);
            last = now;
          } else if (chunk.type === 'usage') {
            counted(model, chunk.usage);
            tokens = chunk.usage.completionTokens;
            outcome = 'ok';
          } else if (chunk.type === 'error') {
            outcome = 'error';
          }
        },
        ended(how) {
          if (how === 'error') outcome = 'error';
          const ms = performance.now() - started;
          durationOf(model, outcome).observe(ms / 1000);
          if (outcome !== 'abort') metrics.live.record({ ok: outcome === 'ok', latencyMs: ms, ttftMs: first, tokens });
        },
      });
    },
  };
}
