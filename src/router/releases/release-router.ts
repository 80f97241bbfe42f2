// Versions on the request path: a release name becomes one of its versions (stable, or canary by its share, sticky
// per caller), a pinned NAME@VERSION goes straight through, and every outcome feeds the rollout's and alerts' windows.
// A canary that fails before its first byte hands the call to the stable version: a bad canary costs its rollout,
// never a caller's answer.
import {
  complete,
  isOutput,
  toAutoglmError,
  type AutoglmError,
  type CallContext,
  type ChatChunk,
  type ChatCompletion,
  type ChatModel,
  type ChatRequest,
  type ModelInfo,
} from '../../core/index.js';
import type { Outcome, ReleaseManager, Route } from './release-manager.js';
import { stickyKeyOf } from './sticky-key.js';

/** Also told of every finished call (the alert rules' windows). */
export type OutcomeSink = (model: string, outcome: Outcome) => void;

export class ReleaseRouter implements ChatModel {
  private readonly listed: ModelInfo[];

  constructor(
    private readonly inner: ChatModel,
    private readonly releases: ReleaseManager,
    private readonly sink: OutcomeSink = () => undefined,
  ) {
    const created = Math.floor(Date.now() / 1000);
    this.listed = [...releases.names().map((id) => ({ id, ownedBy: 'autoglm', created })), ...inner.models()];
  }

  models(): ModelInfo[] {
    return this.listed;
  }

  /** A release's prompt is counted on its stable version: versions of one release share a tokenizer, near enough. */
  async countTokens(req: ChatRequest): Promise<number> {
    if (!this.inner.countTokens) throw new Error(`${req.model} cannot count tokens`);
    if (!this.releases.has(req.model)) return this.inner.countTokens(req);
    const route = this.releases.route(req.model, undefined);
    return this.inner.countTokens({ ...req, model: route.fallback ?? route.model });
  }

  private target(req: ChatRequest, ctx: CallContext): Route {
    if (!this.releases.has(req.model)) return { model: req.model };
    const route = this.releases.route(req.model, stickyKeyOf(this.releases.stickyBy(req.model), ctx, req.user));
    if (ctx.report) ctx.report.model = route.model;
    return route;
  }

  private finished(model: string, ctx: CallContext, outcome: Outcome): void {
    // A caller that left says nothing about the version, nor does an answer the cache below gave for it.
    if (ctx.signal.aborted || ctx.report?.cache === 'hit') return;
    this.releases.record(model, outcome);
    this.sink(model, outcome);
  }

  /**
   * Whether a failed canary call goes to the stable version instead: when the canary could not answer (5xx, refused
   * for load) and the caller is still there. A request the canary rejected as malformed would fare no better on stable.
   */
  private fallsBack(route: Route | undefined, error: AutoglmError, ctx: CallContext): route is Required<Route> {
    return route?.fallback !== undefined && error.retryable && !ctx.signal.aborted;
  }

  /** The stable version answers from here on; the canary's failure was already counted in its window. */
  private fellBack(route: Required<Route>, ctx: CallContext): string {
    if (ctx.report) ctx.report.model = route.fallback;
    return route.fallback;
  }

  async *stream(req: ChatRequest, ctx: CallContext): AsyncGenerator<ChatChunk> {
    const route = this.target(req, ctx);
    const fallback = yield* this.streamOn(route.model, req, ctx, route);
    if (fallback !== undefined) yield* this.streamOn(fallback, req, ctx);
  }

  /**
   * One call on one version, counted in that version's window. Given a route with a fallback, a failure before the
   * first chunk reached the caller is not passed on: it counts against this version, and the fallback is returned.
   */
  private async *streamOn(model: string, req: ChatRequest, ctx: CallContext, route?: Route): AsyncGenerator<ChatChunk, string | undefined> {
    const started = performance.now();
    let ttftMs: number | undefined;
    let ok = true;
    let sent = false;
    try {
      for await (const chunk of this.inner.stream({ ...req, model }, ctx)) {
        if (chunk.type === 'error') {
          if (!sent && this.fallsBack(route, chunk.error, ctx)) {
            ok = false;
            return this.fellBack(route, ctx);
          }
          if (chunk.error.status >= 500) ok = false;
        }
        if (ttftMs === undefined && isOutput(chunk)) ttftMs = performance.now() - started;
        sent = true;
        yield chunk;
      }
      return undefined;
    } catch (err) {
      const error = toAutoglmError(err);
      if (error.status >= 500 || (!sent && this.fallsBack(route, error, ctx))) ok = false;
      if (!sent && this.fallsBack(route, error, ctx)) return this.fellBack(route, ctx);
      throw err;
    } finally {
      this.finished(model, ctx, { ok, latencyMs: performance.now() - started, ttftMs });
    }
  }

  async complete(req: ChatRequest, ctx: CallContext): Promise<ChatCompletion> {
    const route = this.target(req, ctx);
    try {
      return await this.completeOn(route.model, req, ctx, route);
    } catch (err) {
      if (!this.fallsBack(route, toAutoglmError(err), ctx)) throw err;
      return this.completeOn(this.fellBack(route, ctx), req, ctx);
    }
  }

  private async completeOn(model: string, req: ChatRequest, ctx: CallContext, route?: Route): Promise<ChatCompletion> {
    const started = performance.now();
    let ok = true;
    try {
      return await complete(this.inner, { ...req, model }, ctx);
    } catch (err) {
      const error = toAutoglmError(err);
      // A failure the stable version will answer for still counts against this version.
      if (error.status >= 500 || this.fallsBack(route, error, ctx)) ok = false;
      throw err;
    } finally {
      const latencyMs = performance.now() - started;
      this.finished(model, ctx, { ok, latencyMs, ttftMs: latencyMs });
    }
  }
}
