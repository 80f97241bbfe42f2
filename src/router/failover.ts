// The attempt loop every call on a pool of replicas goes through, whatever the call (a chat stream's first chunk, a
// whole answer, an embedding): choose a replica by policy, untried ones first; settle its load, breaker, latency and
// metrics once; on a retryable failure back off and try elsewhere; otherwise hand the failure to the caller.
import { AutoglmError, toAutoglmError, type CallContext, type CallReport, type CallTrace, type Clock, type Random } from '../core/index.js';
import type { GatewayMetrics } from '../observability/index.js';
import { PrefixAwarePolicy, type BalancingPolicy, type RoutingRequest } from './policies/index.js';
import type { Replica } from './replica.js';
import { countsAgainstReplica, retryDelay, type RetryOptions } from './retry-policy.js';

export interface FailoverOptions {
  model: string;
  policy: BalancingPolicy;
  retry: RetryOptions;
  clock: Clock;
  random: Random;
  metrics?: GatewayMetrics;
  /** What the replicas of the 503 cannot do right now, in the user's words ("take requests", "make embeddings"). */
  unavailable: string;
}

interface BoundMetrics {
  ttft: { observe(v: number): void };
  latency: { observe(v: number): void };
  requests: Record<'ok' | 'error' | 'abort', { inc(): void }>;
}

/** One attempt on one replica, from choice to outcome: its load, breaker, latency and metrics are settled once. */
export class Attempt {
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

export class Failover {
  private readonly bound = new Map<Replica, BoundMetrics>();

  constructor(private readonly options: FailoverOptions) {}

  /**
   * `call` on a replica chosen among `replicas`, tried elsewhere while its failures are retryable. `tried` is made on
   * a first failure only (most calls have none), so nothing is allocated for retries not made.
   */
  async run<T>(replicas: readonly Replica[], route: RoutingRequest, ctx: CallContext, call: (replica: Replica) => Promise<T>): Promise<T> {
    let tried: Set<Replica> | undefined;
    for (let attempt = 1; ; attempt++) {
      const replica = this.choose(replicas, route, tried, ctx);
      try {
        return await (ctx.trace ? this.traced(ctx.trace, replica, attempt, call) : call(replica));
      } catch (err) {
        await this.beforeRetry(toAutoglmError(err), attempt, replica, ctx);
        (tried ??= new Set()).add(replica);
      }
    }
  }

  /** The attempt inside its own span, so retries and failover show as siblings and the upstream joins the trace. */
  private traced<T>(trace: CallTrace, replica: Replica, attempt: number, call: (replica: Replica) => Promise<T>): Promise<T> {
    return trace.span('upstream.attempt', { 'autoglm.attempt': attempt, 'autoglm.replica': replica.id, 'gen_ai.request.model': this.options.model }, () =>
      call(replica),
    );
  }

  /** `call` as one attempt with its bookkeeping: for calls that answer whole (a completion, an embedding). */
  async settled<T>(replica: Replica, ctx: CallContext, call: () => Promise<T>): Promise<T> {
    const bookkeeping = this.begin(replica);
    try {
      const result = await call();
      bookkeeping.end('ok');
      return result;
    } catch (err) {
      bookkeeping.end(ctx.signal.aborted ? 'abort' : 'error', toAutoglmError(err));
      throw err;
    }
  }

  /** Starts one attempt on one replica. */
  begin(replica: Replica): Attempt {
    return new Attempt(replica, this.failed, this.options.clock, this.options.metrics ? this.boundMetrics(replica) : undefined);
  }

  /** By policy among the available replicas, untried ones first; reported. */
  private choose(replicas: readonly Replica[], route: RoutingRequest, tried: ReadonlySet<Replica> | undefined, ctx: CallContext): Replica {
    const { policy, metrics, model } = this.options;
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
        `No replica of '${model}' can ${this.options.unavailable} right now (all failing or cooling down). Retry shortly.`,
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

  /** Waits out the backoff before the next attempt, or throws when the failure must reach the caller. */
  private async beforeRetry(failure: AutoglmError, attempt: number, replica: Replica, ctx: CallContext): Promise<void> {
    ctx.signal.throwIfAborted();
    const delay = retryDelay(failure, attempt, this.options.retry, this.options.random);
    if (delay === undefined) throw failure;
    this.options.metrics?.retries.inc({ model: this.options.model, replica: replica.id });
    await this.options.clock.sleep(delay, ctx.signal);
  }

  /** Metric children bound once per replica: label lookups hash their labels on every call. */
  private boundMetrics(replica: Replica): BoundMetrics {
    let b = this.bound.get(replica);
    if (!b) {
      const m = this.options.metrics!;
      const [model, id] = [this.options.model, replica.id];
      b = {
        ttft: m.ttft.tally(model, id),
        latency: m.latency.tally(model, id),
        requests: { ok: m.requests.tally(model, id, 'ok'), error: m.requests.tally(model, id, 'error'), abort: m.requests.tally(model, id, 'abort') },
      };
      this.bound.set(replica, b);
    }
    return b;
  }

  /** An attempt failed: a replica that asked to be left alone cools down; one that broke counts toward its breaker. */
  private readonly failed = (replica: Replica, error: AutoglmError): void => {
    if (error.status === 429 && error.retryAfter) replica.coolUntil = this.options.clock.now() + error.retryAfter * 1000;
    if (countsAgainstReplica(error)) replica.breaker.recordFailure();
  };
}
