// A ChatModel wrapper that records token counts and latencies of every stream that passes through it.
import type { CallContext, ChatModel, ChatRequest, Usage } from '../core/index.js';
import type { ServerMetrics } from './metrics.js';

export function withMetrics(inner: ChatModel, metrics: ServerMetrics): ChatModel {
  const innerComplete = inner.complete?.bind(inner);
  const counted = (model: string, usage: Usage) => {
    metrics.promptTokens.inc({ model }, usage.promptTokens);
    metrics.cachedPromptTokens.inc({ model }, usage.cachedPromptTokens);
    metrics.completionTokens.inc({ model }, usage.completionTokens);
  };
  return {
    models: () => inner.models(),
    // A whole answer from a model that gives one directly has no first token to time: tokens and duration only.
    ...(innerComplete && {
      async complete(req: ChatRequest, ctx: CallContext) {
        const started = performance.now();
        let outcome = 'error';
        try {
          const result = await innerComplete(req, ctx);
          counted(req.model, result.usage);
          outcome = 'ok';
          return result;
        } finally {
          metrics.requestDuration.observe({ model: req.model, outcome: ctx.signal.aborted ? 'abort' : outcome }, (performance.now() - started) / 1000);
        }
      },
    }),
    async *stream(req, ctx) {
      const model = req.model;
      // Label lookups hash their labels on every call; bind them once per stream, off the per-token path.
      const ttft = metrics.timeToFirstToken.labels(model);
      const itl = metrics.interTokenLatency.labels(model);
      const started = performance.now();
      let last = 0;
      let outcome = 'abort';
      try {
        for await (const chunk of inner.stream(req, ctx)) {
          if (chunk.type === 'text-delta') {
            const now = performance.now();
            if (last === 0) ttft.observe((now - started) / 1000);
            else itl.observe((now - last) / 1000);
            last = now;
          } else if (chunk.type === 'usage') {
            counted(model, chunk.usage);
            outcome = 'ok';
          } else if (chunk.type === 'error') {
            outcome = 'error';
          }
          yield chunk;
        }
      } catch (err) {
        outcome = 'error';
        throw err;
      } finally {
        metrics.requestDuration.observe({ model, outcome }, (performance.now() - started) / 1000);
      }
    },
  };
}
