// A model served by a pool of replicas: choose one by policy, fail over before the first byte, track health.
import {
  collect,
  complete,
  isOutput,
  promptTextOf,
  precededBy,
  toAutoglmError,
  watchStream,
  type CallContext,
  type ChatChunk,
  type ChatCompletion,
  type ChatModel,
  type ChatRequest,
  type Clock,
  type ModelInfo,
  type Random,
} from '../core/index.js';
import type { GatewayMetrics } from '../observability/index.js';
import { Failover } from './failover.js';
import type { BalancingPolicy, RoutingRequest } from './policies/index.js';
import type { Replica } from './replica.js';
import type { RetryOptions } from './retry-policy.js';

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

export class ReplicaPool implements ChatModel {
  private readonly created = Math.floor(Date.now() / 1000);

  /** Per replica, what stops reporting its gauges. */
  private readonly unwatch = new Map<Replica, () => void>();

  /**
   * The prompt tokens of a request, when a replica can count them (an embedded one): absent otherwise, so callers
   * estimate. Replicas of one pool serve one model, so the first that counts speaks for all.
   */
  readonly countTokens?: (req: ChatRequest) => number | Promise<number>;

  private readonly failover: Failover;

  constructor(private readonly options: ReplicaPoolOptions) {
    this.failover = new Failover({ ...options, unavailable: 'take requests' });
    const counter = options.replicas.find((r) => r.engine.countTokens)?.engine;
    if (counter?.countTokens) this.countTokens = (req) => counter.countTokens!(req);
    for (const r of options.replicas) this.watch(r);
  }

  private watch(r: Replica): void {
    const unwatch = this.options.metrics?.watch({ model: this.options.model, replica: r.id, inflight: () => r.outstanding, breaker: () => r.breaker.state });
    if (unwatch) this.unwatch.set(r, unwatch);
  }

  /** Stops reporting this pool's gauges (it was replaced by a reloaded config). */
  close(): void {
    for (const unwatch of this.unwatch.values()) unwatch();
  }

  /** A replica joins (found by DNS): it takes requests from the next one on, and health checks see it. */
  add(replica: Replica): void {
    this.options.replicas.push(replica);
    this.watch(replica);
  }

  /**
   * A replica leaves: no new requests from now on, and once its in-flight ones have finished it is out of the pool and
   * closed. Resolves then. `pollMs` is how often its in-flight count is looked at meanwhile.
   */
  async drain(id: string, pollMs = 50): Promise<void> {
    const replica = this.options.replicas.find((r) => r.id === id && !r.draining);
    if (!replica) return;
    replica.draining = true;
    while (replica.outstanding > 0) await this.options.clock.sleep(pollMs);
    const at = this.options.replicas.indexOf(replica);
    if (at >= 0) this.options.replicas.splice(at, 1);
    this.unwatch.get(replica)?.();
    this.unwatch.delete(replica);
    await replica.close();
  }

  get replicas(): readonly Replica[] {
    return this.options.replicas;
  }

  models(): ModelInfo[] {
    return [{ id: this.options.model, ownedBy: 'autoglm', created: this.created }];
  }

  stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
    // After the first chunk reached the caller, a failure can no longer go to another replica: it ends the stream
    // with an error event. A caller that leaves before the rest is read still ends the attempt.
    return watchStream(
      async () => {
        const opened = await this.failover.run(this.options.replicas, new RouteOf(req), ctx, (replica) => this.open(replica, req, ctx));
        return precededBy(opened.held, opened.rest);
      },
      {
        item: (chunk) => chunk.type === 'error',
        failed: (err): ChatChunk => ({ type: 'error', error: toAutoglmError(err) }),
      },
    );
  }

  /**
   * An attempt's stream up to the point it can no longer be retried: a whole answer is gathered before the caller
   * sees any of it, so it can still be retried from scratch on another replica if this one dies halfway; a stream
   * only until its first chunk, which is held with the rest left to read.
   */
  private async open(replica: Replica, req: ChatRequest, ctx: CallContext): Promise<{ held: ChatChunk[]; rest?: AsyncIterator<ChatChunk> }> {
    const chunks = this.tracked(replica, req, ctx)[Symbol.asyncIterator]();
    try {
      const held: ChatChunk[] = [];
      for (;;) {
        const next = await chunks.next();
        if (next.done) return { held };
        if (next.value.type === 'error') throw next.value.error;
        held.push(next.value);
        if (req.stream !== false) return { held, rest: chunks };
      }
    } catch (err) {
      await chunks.return?.(undefined);
      throw err;
    }
  }

  /** A whole answer: the replica's own `complete` when it has one; retried elsewhere on a retryable failure. */
  complete(req: ChatRequest, ctx: CallContext): Promise<ChatCompletion> {
    // An engine that only streams is gathered here, through the same bookkeeping as a stream, so its whole answers
    // have a time to first token too.
    return this.failover.run(this.options.replicas, new RouteOf(req), ctx, (replica) =>
      replica.engine.complete ? this.failover.settled(replica, ctx, () => complete(replica.engine, req, ctx)) : collect(this.tracked(replica, req, ctx)),
    );
  }

  /** One streamed attempt on one replica, with its bookkeeping. */
  private tracked(replica: Replica, req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
    let bookkeeping: ReturnType<Failover['begin']>;
    let firstToken = true;
    return watchStream(
      () => {
        bookkeeping = this.failover.begin(replica);
        try {
          return replica.engine.stream(req, ctx);
        } catch (err) {
          bookkeeping.end(ctx.signal.aborted ? 'abort' : 'error', toAutoglmError(err));
          throw err;
        }
      },
      {
        item(chunk) {
          if (firstToken && isOutput(chunk)) {
            firstToken = false;
            // Only a whole answer needs its first token noted: a stream's is timed where the caller receives it.
            bookkeeping.firstToken(req.stream === false ? ctx.report : undefined);
          }
          if (chunk.type === 'error') bookkeeping.end('error', chunk.error);
        },
        ended(how, error) {
          if (how === 'done') bookkeeping.end(ctx.signal.aborted ? 'abort' : 'ok');
          else if (how === 'error') bookkeeping.end(ctx.signal.aborted ? 'abort' : 'error', toAutoglmError(error));
          bookkeeping.end('abort');
        },
      },
    );
  }
}
