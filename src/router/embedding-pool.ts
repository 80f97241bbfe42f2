// Embeddings served by a model's replicas: the same replicas, load counts and circuit breakers as its chat pool,
// chosen by its policy, retried elsewhere on a retryable failure (an embedding is all-or-nothing, so always safely).
import {
  embeddingsOf,
  type CallContext,
  type Clock,
  type EmbeddingModel,
  type EmbeddingModelInfo,
  type EmbeddingRequest,
  type Embeddings,
  type Random,
} from '../core/index.js';
import type { GatewayMetrics } from '../observability/index.js';
import { Failover } from './failover.js';
import type { BalancingPolicy, RoutingRequest } from './policies/index.js';
import type { Replica } from './replica.js';
import type { RetryOptions } from './retry-policy.js';

export interface EmbeddingPoolOptions {
  model: string;
  /** The model's replicas; only those whose engine embeds are used. */
  replicas: readonly Replica[];
  policy: BalancingPolicy;
  retry: RetryOptions;
  clock: Clock;
  random: Random;
  /** Per-replica requests, latency and retries, counted with the chat calls' own. */
  metrics?: GatewayMetrics;
}

/** What a policy keys on: the first input's text (prefix-aware policies read it; token arrays give none). */
const routeOf = (req: EmbeddingRequest): RoutingRequest => ({ prompt: typeof req.inputs[0] === 'string' ? req.inputs[0] : '' });

export class EmbeddingPool implements EmbeddingModel {
  /** The replicas that embed, and what each embeds with. */
  private readonly embedders: Map<Replica, EmbeddingModel>;
  private readonly replicas: Replica[];
  private readonly listed: EmbeddingModelInfo[];
  private readonly failover: Failover;

  constructor(options: EmbeddingPoolOptions) {
    this.embedders = new Map(
      options.replicas.flatMap((replica) => {
        const embeddings = embeddingsOf(replica.engine);
        return embeddings ? [[replica, embeddings] as const] : [];
      }),
    );
    this.replicas = [...this.embedders.keys()];
    // The first replica's vectors stand for the pool's: replicas of one model serve one model.
    const first = [...this.embedders.values()][0]?.models()[0];
    this.listed = first ? [{ ...first, id: options.model, ownedBy: 'autoglm' }] : [];
    this.failover = new Failover({ ...options, unavailable: 'make embeddings' });
  }

  /** Whether any replica of the model embeds. */
  get embeds(): boolean {
    return this.embedders.size > 0;
  }

  models(): EmbeddingModelInfo[] {
    return this.listed;
  }

  embed(req: EmbeddingRequest, ctx: CallContext): Promise<Embeddings> {
    return this.failover.run(this.replicas, routeOf(req), ctx, (replica) =>
      this.failover.settled(replica, ctx, () => this.embedders.get(replica)!.embed(req, ctx)),
    );
  }
}
