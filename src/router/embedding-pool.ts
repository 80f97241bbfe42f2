// Embeddings served by a model's replicas: the same replicas, load counts and circuit breakers as its chat pool,
// chosen by its policy, retried elsewhere on a retryable failure (an embedding is all-or-nothing, so always safely).
import {
  AutoglmError,
  embeddingsOf,
  toAutoglmError,
  type CallContext,
  type Clock,
  type EmbeddingModel,
  type EmbeddingModelInfo,
  type EmbeddingRequest,
  type Embeddings,
  type Random,
} from '../core/index.js';
import type { BalancingPolicy, RoutingRequest } from './policies/index.js';
import type { Replica } from './replica.js';
import { countsAgainstReplica, retryDelay, type RetryOptions } from './retry-policy.js';

export interface EmbeddingPoolOptions {
  model: string;
  /** The model's replicas; only those whose engine embeds are used. */
  replicas: readonly Replica[];
  policy: BalancingPolicy;
  retry: RetryOptions;
  clock: Clock;
  random: Random;
}

interface Embedder {
  replica: Replica;
  embeddings: EmbeddingModel;
}

/** What a policy keys on: the first input's text (prefix-aware policies read it; token arrays give none). */
const routeOf = (req: EmbeddingRequest): RoutingRequest => ({ prompt: typeof req.inputs[0] === 'string' ? req.inputs[0] : '' });

export class EmbeddingPool implements EmbeddingModel {
  private readonly embedders: Embedder[];
  private readonly listed: EmbeddingModelInfo[];

  constructor(private readonly options: EmbeddingPoolOptions) {
    this.embedders = options.replicas.flatMap((replica) => {
      const embeddings = embeddingsOf(replica.engine);
      return embeddings ? [{ replica, embeddings }] : [];
    });
    // The first replica's vectors stand for the pool's: replicas of one model serve one model.
    const first = this.embedders[0]?.embeddings.models()[0];
    this.listed = first ? [{ ...first, id: options.model, ownedBy: 'autoglm' }] : [];
  }

  /** Whether any replica of the model embeds. */
  get embeds(): boolean {
    return this.embedders.length > 0;
  }

  models(): EmbeddingModelInfo[] {
    return this.listed;
  }

  async embed(req: EmbeddingRequest, ctx: CallContext): Promise<Embeddings> {
    const route = routeOf(req);
    let tried: Set<Embedder> | undefined;
    for (let attempt = 1; ; attempt++) {
      const chosen = this.choose(route, tried, ctx);
      try {
        return await this.attempt(chosen, req, ctx);
      } catch (err) {
        const failure = toAutoglmError(err);
        ctx.signal.throwIfAborted();
        const delay = retryDelay(failure, attempt, this.options.retry, this.options.random);
        if (delay === undefined) throw failure;
        await this.options.clock.sleep(delay, ctx.signal);
        (tried ??= new Set()).add(chosen);
      }
    }
  }

  /** By policy among the available replicas that embed, untried ones first. */
  private choose(route: RoutingRequest, tried: ReadonlySet<Embedder> | undefined, ctx: CallContext): Embedder {
    let candidates = this.embedders.filter((e) => e.replica.available());
    if (tried) {
      const fresh = candidates.filter((e) => !tried.has(e));
      if (fresh.length > 0) candidates = fresh;
    }
    if (candidates.length === 0) {
      throw new AutoglmError(
        503,
        'server_error',
        'no_replica_available',
        `No replica of '${this.options.model}' can make embeddings right now (all failing or cooling down). Retry shortly.`,
        null,
        1,
      );
    }
    const chosen =
      candidates.length === 1
        ? candidates[0]!
        : candidates[
            this.options.policy.pick(
              candidates.map((e) => e.replica.view()),
              route,
            )
          ]!;
    if (ctx.report) ctx.report.replica = chosen.replica.id;
    return chosen;
  }

  /** One attempt on one replica, counted in its load and its breaker as a chat call is. */
  private async attempt({ replica, embeddings }: Embedder, req: EmbeddingRequest, ctx: CallContext): Promise<Embeddings> {
    replica.outstanding++;
    replica.breaker.begin();
    try {
      const result = await embeddings.embed(req, ctx);
      replica.breaker.recordSuccess();
      return result;
    } catch (err) {
      const error = toAutoglmError(err);
      if (!ctx.signal.aborted) {
        if (error.status === 429 && error.retryAfter) replica.coolUntil = this.options.clock.now() + error.retryAfter * 1000;
        if (countsAgainstReplica(error)) replica.breaker.recordFailure();
      }
      throw err;
    } finally {
      replica.outstanding--;
    }
  }
}
