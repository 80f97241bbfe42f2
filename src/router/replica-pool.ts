// A model served by a pool of replicas: choose one by policy, fail over before the first byte, track health.
import {
  AutoglmError,
  collect,
  complete,
  isOutput,
  promptTextOf,
  toAutoglmError,
  type CallContext,
  type CallReport,
  type ChatChunk,
  type ChatCompletion,
  type ChatModel,
  type ChatRequest,
  type Clock,
  type ModelInfo,
  type Random,
} from '../core/index.js';
import type { GatewayMetrics } from '../observability/index.js';
import { PrefixAwarePolicy, type BalancingPolicy, type RoutingRequest } from './policies/index.js';
import type { Replica } from './replica.js';
import { countsAgainstReplica, retryDelay, type RetryOptions } from './retry-policy.js';

export interface ReplicaPoolOptions {
  model: string;
  replicas: Replica[];
  policy: BalancingPolicy;
  retry: RetryOptions;
  clock: Clock;
  random: Random;
  metrics?: GatewayMetrics;
}

/**
 * The routing view of a request; the prompt text is built only if a policy reads it (prefix-aware does). A class, not
 * an object literal with a getter: V8 builds those slowly, and one is made per request.
 */
class RouteOf implements RoutingRequest {
  private text: string | undefined;
  constructor(private readonly req: ChatRequest) {}
  get prompt(): string {
    return (this.text ??= promptTextOf(this.req));
  }
}

/** One attempt on one replica, from choice to outcome: its load, breaker, latency and metrics are settled once. */
class Attempt {
  private readonly started: number;
  private ended = false;

  constructor(
    readonly replica: Replica,
    private readonly failed: (replica: Replica, error: AutoglmError) => void,
    private readonly clock: Clock,
    private readonly bound: BoundMetrics | undefined,
  ) {
    this.started = clock.now();
    replica.outstanding++;
    replica.breaker.begin();
  }

  firstToken(report: CallReport | undefined): void {
    const ttft = this.clock.now() - this.started;
    this.replica.observeTtft(ttft);
    this.bound?.ttft.observe(ttft / 1000);
    // The layers above time the call from their own start; a whole answer is otherwise only seen once complete.
    if (report) report.firstTokenAt ??= performance.now();
  }

  end(outcome: 'ok' | 'error' | 'abort', error?: AutoglmError): void {
    if (this.ended) return;
    this.ended = true;
    this.replica.outstanding--;
    if (outcome === 'ok') this.replica.breaker.recordSuccess();
    if (outcome === 'error' && error) this.failed(this.replica, error);
    this.bound?.requests[outcome].inc();
    this.bound?.latency.observe((this.clock.now() - this.started) / 1000);
  }
}

interface BoundMetrics {
  ttft: { observe(v: number): void };
  latency: { observe(v: number): void };
  requests: Record<'ok' | 'error' | 'abort', { inc(): void }>;
}

export class ReplicaPool implements ChatModel {
  private readonly created = Math.floor(Date.now() / 1000);

  private readonly unwatch: (() => void)[] = [];

  /**
   * The prompt tokens of a request, when a replica can count them (an embedded one): absent otherwise, so callers
   * estimate. Replicas of one pool serve one model, so the first that counts speaks for all.
   */
  readonly countTokens?: (req: ChatRequest) => number | Promise<number>;

  constructor(private readonly options: ReplicaPoolOptions) {
    const counter = options.replicas.find((r) => r.engine.countTokens)?.engine;
    if (counter?.countTokens) this.countTokens = (req) => counter.countTokens!(req);
    for (const r of options.replicas) {
      const unwatch = options.metrics?.watch({ model: options.model, replica: r.id, inflight: () => r.outstanding, breaker: () => r.breaker.state });
      if (unwatch) this.unwatch.push(unwatch);
    }
  }

  /** Stops reporting this pool's gauges (it was replaced by a reloaded config). */
  close(): void {
    for (const unwatch of this.unwatch) unwatch();
  }

  get replicas(): readonly Replica[] {
    return this.options.replicas;
  }

  models(): ModelInfo[] {
    return [{ id: this.options.model, ownedBy: 'autoglm', created: this.created }];
  }

  /**
   * The replica for the next attempt: by policy among the available ones, untried ones first; reported. `tried` is
   * undefined on a first attempt (most requests have only one), so nothing is allocated for retries not made.
   */
  private choose(route: RoutingRequest, tried: ReadonlySet<Replica> | undefined, ctx: CallContext): Replica {
    const { policy, metrics, model, replicas } = this.options;
    let candidates = replicas.filter((r) => r.available());
    if (tried) {
      const fresh = candidates.filter((r) => !tried.has(r));
      if (fresh.length > 0) candidates = fresh;
    }
    if (candidates.length === 0) {
      throw new AutoglmError(
        503,
        'server_error',
        'no_replica_available',
        `No replica of '${model}' can take requests right now (all failing or cooling down). Retry shortly.`,
        null,
        1,
      );
    }
    const chosen =
      candidates.length === 1
        ? candidates[0]!
        : candidates[
            policy.pick(
              candidates.map((r) => r.view()),
              route,
            )
          ]!;
    if (policy.routed) {
      policy.routed(chosen.view(), route);
      if (policy instanceof PrefixAwarePolicy && policy.last) {
        metrics?.prefixRouting.inc({ model, result: policy.last.matchedBlocks > 0 ? 'hit' : 'miss' });
      }
    }
    if (ctx.report) ctx.report.replica = chosen.id;
    return chosen;
  }

  async *stream(req: ChatRequest, ctx: CallContext): AsyncGenerator<ChatChunk> {
    const route = new RouteOf(req);
    let tried: Set<Replica> | undefined;
    for (let attempt = 1; ; attempt++) {
      const replica = this.choose(route, tried, ctx);
      const chunks = this.tracked(replica, req, ctx)[Symbol.asyncIterator]();
      let failure: AutoglmError;
      try {
        // A whole answer is gathered before the caller sees any of it, so it can still be retried from scratch
        // on another replica if this one dies halfway; a stream can only be retried until its first chunk.
        const held: ChatChunk[] = [];
        for (;;) {
          const next = await chunks.next();
          if (next.done) break;
          if (next.value.type === 'error') throw next.value.error;
          if (req.stream === false) held.push(next.value);
          else {
            yield next.value;
            yield* this.rest(chunks);
            return;
          }
        }
        yield* held;
        return;
      } catch (err) {
        failure = toAutoglmError(err);
        await chunks.return?.(undefined);
      }
      await this.beforeRetry(failure, attempt, replica, ctx);
      (tried ??= new Set()).add(replica);
    }
  }

  /** A whole answer: the replica's own `complete` when it has one; retried elsewhere on a retryable failure. */
  async complete(req: ChatRequest, ctx: CallContext): Promise<ChatCompletion> {
    const route = new RouteOf(req);
    let tried: Set<Replica> | undefined;
    for (let attempt = 1; ; attempt++) {
      const replica = this.choose(route, tried, ctx);
      try {
        // An engine that only streams is gathered here, through the same bookkeeping as a stream, so its whole
        // answers have a time to first token too.
        return replica.engine.complete ? await this.completeOn(replica, req, ctx) : await collect(this.tracked(replica, req, ctx));
      } catch (err) {
        const failure = toAutoglmError(err);
        await this.beforeRetry(failure, attempt, replica, ctx);
        (tried ??= new Set()).add(replica);
      }
    }
  }

  /** One whole answer from an engine that gives one directly (its first token is not seen). */
  private async completeOn(replica: Replica, req: ChatRequest, ctx: CallContext): Promise<ChatCompletion> {
    const bookkeeping = this.begin(replica);
    try {
      const result = await complete(replica.engine, req, ctx);
      bookkeeping.end('ok');
      return result;
    } catch (err) {
      bookkeeping.end(ctx.signal.aborted ? 'abort' : 'error', toAutoglmError(err));
      throw err;
    }
  }

  /** Waits out the backoff before the next attempt, or throws when the failure must reach the caller. */
  private async beforeRetry(failure: AutoglmError, attempt: number, replica: Replica, ctx: CallContext): Promise<void> {
    ctx.signal.throwIfAborted();
    const delay = retryDelay(failure, attempt, this.options.retry, this.options.random);
    if (delay === undefined) throw failure;
    this.options.metrics?.retries.inc({ model: this.options.model, replica: replica.id });
    await this.options.clock.sleep(delay, ctx.signal);
  }

  /** After the first chunk reached the caller: pass the rest on; a failure ends the stream with an error event. */
  private async *rest(chunks: AsyncIterator<ChatChunk>): AsyncGenerator<ChatChunk> {
    try {
      for (;;) {
        const next = await chunks.next();
        if (next.done) return;
        yield next.value;
        if (next.value.type === 'error') return;
      }
    } catch (err) {
      yield { type: 'error', error: toAutoglmError(err) };
    } finally {
      await chunks.return?.(undefined);
    }
  }

  /** Starts one attempt on one replica. */
  private begin(replica: Replica): Attempt {
    return new Attempt(replica, this.failed, this.options.clock, this.options.metrics ? this.boundMetrics(replica) : undefined);
  }

  /** One streamed attempt on one replica, with its bookkeeping. */
  private async *tracked(replica: Replica, req: ChatRequest, ctx: CallContext): AsyncGenerator<ChatChunk> {
    const bookkeeping = this.begin(replica);
    let firstToken = true;
    try {
      for await (const chunk of replica.engine.stream(req, ctx)) {
        if (firstToken && isOutput(chunk)) {
          firstToken = false;
          // Only a whole answer needs its first token noted: a stream's is timed where the caller receives it.
          bookkeeping.firstToken(req.stream === false ? ctx.report : undefined);
        }
        if (chunk.type === 'error') bookkeeping.end('error', chunk.error);
        yield chunk;
      }
      bookkeeping.end(ctx.signal.aborted ? 'abort' : 'ok');
    } catch (err) {
      bookkeeping.end(ctx.signal.aborted ? 'abort' : 'error', toAutoglmError(err));
      throw err;
    } finally {
      bookkeeping.end('abort');
    }
  }

  private readonly bound = new Map<Replica, BoundMetrics>();

  /** Metric children bound once per replica: label lookups hash their labels on every call. */
  private boundMetrics(replica: Replica) {
    let b = this.bound.get(replica);
    if (!b) this.bound.set(replica, (b = this.bindMetrics(replica)));
    return b;
  }

  private bindMetrics(replica: Replica): BoundMetrics {
    const m = this.options.metrics!;
    const [model, id] = [this.options.model, replica.id];
    return {
      ttft: m.ttft.labels(model, id),
      latency: m.latency.labels(model, id),
      requests: { ok: m.requests.labels(model, id, 'ok'), error: m.requests.labels(model, id, 'error'), abort: m.requests.labels(model, id, 'abort') },
    };
  }

  /** An attempt failed: a replica that asked to be left alone cools down; one that broke counts toward its breaker. */
  private readonly failed = (replica: Replica, error: AutoglmError): void => {
    if (error.status === 429 && error.retryAfter) replica.coolUntil = this.options.clock.now() + error.retryAfter * 1000;
    if (countsAgainstReplica(error)) replica.breaker.recordFailure();
  };
}
