// Versions on the request path: a release name becomes one of its versions (stable, or canary by its share, sticky
// per caller), a pinned NAME@VERSION goes straight through, and every outcome feeds the rollout's and alerts' windows.
import { complete, isOutput, toAutoglmError, type CallContext, type ChatChunk, type ChatCompletion, type ChatModel, type ChatRequest, type ModelInfo } from '../../core/index.js';
import type { Outcome, ReleaseManager } from './release-manager.js';

/** Also told of every finished call (the alert rules' windows). */
export type OutcomeSink = (model: string, outcome: Outcome) => void;

export class ReleaseRouter implements ChatModel {
  private readonly listed: ModelInfo[];

  constructor(private readonly inner: ChatModel, private readonly releases: ReleaseManager, private readonly sink: OutcomeSink = () => undefined) {
    const created = Math.floor(Date.now() / 1000);
    this.listed = [...releases.names().map((id) => ({ id, ownedBy: 'autoglm', created })), ...inner.models()];
  }

  models(): ModelInfo[] {
    return this.listed;
  }

  private stickyKey(name: string, req: ChatRequest, ctx: CallContext): string | undefined {
    switch (this.releases.stickyBy(name)) {
      case 'session':
        return ctx.sessionKey ?? req.user ?? ctx.keyId;
      case 'user':
        return req.user;
      case 'key':
        return ctx.keyId;
      case 'none':
        return undefined;
    }
  }

  private target(req: ChatRequest, ctx: CallContext): ChatRequest {
    if (!this.releases.has(req.model)) return req;
    const model = this.releases.route(req.model, this.stickyKey(req.model, req, ctx));
    if (ctx.report) ctx.report.model = model;
    return { ...req, model };
  }

  private finished(model: string, ctx: CallContext, outcome: Outcome): void {
    // A caller that left says nothing about the version.
    if (ctx.signal.aborted) return;
    this.releases.record(model, outcome);
    this.sink(model, outcome);
  }

  async *stream(req: ChatRequest, ctx: CallContext): AsyncGenerator<ChatChunk> {
    const routed = this.target(req, ctx);
    const started = performance.now();
    let ttftMs: number | undefined;
    let ok = true;
    try {
      for await (const chunk of this.inner.stream(routed, ctx)) {
        if (ttftMs === undefined && isOutput(chunk)) ttftMs = performance.now() - started;
        if (chunk.type === 'error' && chunk.error.status >= 500) ok = false;
        yield chunk;
      }
    } catch (err) {
      if (toAutoglmError(err).status >= 500) ok = false;
      throw err;
    } finally {
      this.finished(routed.model, ctx, { ok, latencyMs: performance.now() - started, ttftMs });
    }
  }

  async complete(req: ChatRequest, ctx: CallContext): Promise<ChatCompletion> {
    const routed = this.target(req, ctx);
    const started = performance.now();
    let ok = true;
    try {
      return await complete(this.inner, routed, ctx);
    } catch (err) {
      if (toAutoglmError(err).status >= 500) ok = false;
      throw err;
    } finally {
      const latencyMs = performance.now() - started;
      this.finished(routed.model, ctx, { ok, latencyMs, ttftMs: latencyMs });
    }
  }
}
