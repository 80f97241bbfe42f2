// A ChatModel wrapper that records token counts and latencies of every stream that passes through it.
import type { ChatModel } from '../core/index.js';
import type { ServerMetrics } from './metrics.js';

export function withMetrics(inner: ChatModel, metrics: ServerMetrics): ChatModel {
  return {
    models: () => inner.models(),
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
            metrics.promptTokens.inc({ model }, chunk.usage.promptTokens);
            metrics.cachedPromptTokens.inc({ model }, chunk.usage.cachedPromptTokens);
            metrics.completionTokens.inc({ model }, chunk.usage.completionTokens);
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
