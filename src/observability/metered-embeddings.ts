// An EmbeddingModel wrapper that records what embeddings cost: inputs, prompt tokens and durations, by model.
import type { CallContext, EmbeddingModel, EmbeddingRequest, Embeddings } from '../core/index.js';
import type { ServerMetrics } from './metrics.js';
import { TalliedCounter } from './tallied-metrics.js';

export function withEmbeddingMetrics(inner: EmbeddingModel, metrics: ServerMetrics): EmbeddingModel {
  // Made once per server, with the wrapper: its registry is that server's own.
  const inputs = new TalliedCounter({
    name: 'autoglm_embedding_inputs_total',
    help: 'Inputs embedded (each text or token array of a /v1/embeddings request)',
    labelNames: ['model'],
    registers: [metrics.registry],
  });
  return {
    models: () => inner.models(),
    async embed(req: EmbeddingRequest, ctx: CallContext): Promise<Embeddings> {
      const started = performance.now();
      let outcome = 'error';
      try {
        const result = await inner.embed(req, ctx);
        inputs.tally(req.model).inc(req.inputs.length);
        metrics.promptTokens.tally(req.model).inc(result.usage.promptTokens);
        outcome = 'ok';
        return result;
      } finally {
        const ms = performance.now() - started;
        metrics.requestDuration.tally(req.model, ctx.signal.aborted ? 'abort' : outcome).observe(ms / 1000);
        // An embedding has no first token and generates none: the dashboard counts it as a request and its latency.
        if (!ctx.signal.aborted) metrics.live.record({ ok: outcome === 'ok', latencyMs: ms, ttftMs: undefined, tokens: 0 });
      }
    },
  };
}
