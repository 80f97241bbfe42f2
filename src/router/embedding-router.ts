// The gateway's EmbeddingModel: a model name leads to the embedding pool over its replicas, rebuilt when a reloaded
// config replaces the pools (the replicas, their load and their breakers are the chat pools' own).
import { modelNotFound, type CallContext, type Clock, type EmbeddingModel, type EmbeddingRequest, type Embeddings, type Random } from '../core/index.js';
import type { GatewayConfig } from '../config/index.js';
import type { GatewayMetrics } from '../observability/index.js';
import { EmbeddingPool } from './embedding-pool.js';
import { createPolicy } from './policies/index.js';
import type { ReplicaPool } from './replica-pool.js';

/** The gateway as it stands: its config and the pools built from it. */
export interface PoolSource {
  config: GatewayConfig;
  pools: ReadonlyMap<string, ReplicaPool>;
}

export interface EmbeddingRouterOptions {
  clock: Clock;
  random: Random;
  /** Where the embedding pools count their attempts per replica, as chat pools do. */
  metrics?: GatewayMetrics;
}

/** One embedding pool per model that has a replica that embeds. */
function embeddingPools({ config, pools }: PoolSource, { clock, random, metrics }: EmbeddingRouterOptions): Map<string, EmbeddingPool> {
  const built = new Map<string, EmbeddingPool>();
  for (const [model, pool] of pools) {
    const modelConfig = config.models[model];
    if (!modelConfig) continue;
    const embeddings = new EmbeddingPool({
      model,
      replicas: pool.replicas,
      policy: createPolicy(modelConfig.policy, random),
      retry: modelConfig.retry,
      clock,
      random,
      metrics,
    });
    if (embeddings.embeds) built.set(model, embeddings);
  }
  return built;
}

/** Follows `current()`: the pools of a generation are built into embedding pools once, when it is first asked for. */
export function liveEmbeddings(current: () => PoolSource, options: EmbeddingRouterOptions): EmbeddingModel {
  const byGeneration = new WeakMap<ReadonlyMap<string, ReplicaPool>, { pools: Map<string, EmbeddingPool>; listed: ReturnType<EmbeddingModel['models']> }>();
  const now = () => {
    const source = current();
    let built = byGeneration.get(source.pools);
    if (!built) {
      const pools = embeddingPools(source, options);
      byGeneration.set(source.pools, (built = { pools, listed: [...pools.values()].flatMap((p) => p.models()) }));
    }
    return built;
  };
  return {
    models: () => now().listed,
    embed(req: EmbeddingRequest, ctx: CallContext): Promise<Embeddings> {
      const { pools } = now();
      const pool = pools.get(req.model);
      if (!pool) throw modelNotFound(req.model, [...pools.keys()]);
      return pool.embed(req, ctx);
    },
  };
}
