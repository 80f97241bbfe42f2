// Versions for embeddings, as for chat: a release name becomes its stable version or, for the canary's share of
// callers (sticky the same way), the canary; the answer's `model` names the version. A canary that cannot answer hands
// the call to the stable version, and every call to a version counts in its rollout's window.
import { toAutoglmError, type CallContext, type EmbeddingModel, type EmbeddingModelInfo, type EmbeddingRequest, type Embeddings } from '../../core/index.js';
import type { ReleaseManager } from './release-manager.js';
import type { OutcomeSink } from './release-router.js';
import { stickyKeyOf } from './sticky-key.js';

export function withReleaseEmbeddings(inner: EmbeddingModel, releases: ReleaseManager, sink: OutcomeSink = () => undefined): EmbeddingModel {
  /** One call on one version, counted in that version's window (a caller that left, or a cache hit, says nothing of it). */
  async function on(model: string, req: EmbeddingRequest, ctx: CallContext): Promise<Embeddings> {
    const started = performance.now();
    let ok = true;
    try {
      return await inner.embed({ ...req, model }, ctx);
    } catch (err) {
      if (toAutoglmError(err).status >= 500) ok = false;
      throw err;
    } finally {
      if (!ctx.signal.aborted && ctx.report?.cache !== 'hit') {
        const outcome = { ok, latencyMs: performance.now() - started };
        releases.record(model, outcome);
        sink(model, outcome);
      }
    }
  }

  return {
    // Reloads change both the versions that embed and the releases: the list is read each time.
    models(): EmbeddingModelInfo[] {
      const versions = inner.models();
      const byId = new Map(versions.map((m) => [m.id, m]));
      const named = releases.names().flatMap((name) => {
        const stable = byId.get(releases.stableModel(name));
        return stable ? [{ ...stable, id: name }] : [];
      });
      return [...named, ...versions];
    },
    async embed(req, ctx) {
      if (!releases.has(req.model)) return on(req.model, req, ctx);
      const route = releases.route(req.model, stickyKeyOf(releases.stickyBy(req.model), ctx, req.user));
      if (ctx.report) ctx.report.model = route.model;
      try {
        return await on(route.model, req, ctx);
      } catch (err) {
        // As for chat: a canary that could not answer (5xx, refused for load) is answered for by the stable version.
        if (route.fallback === undefined || !toAutoglmError(err).retryable || ctx.signal.aborted) throw err;
        if (ctx.report) ctx.report.model = route.fallback;
        return on(route.fallback, req, ctx);
      }
    },
  };
}
