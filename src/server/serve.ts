// Starts a server around any ChatModel: listen first (live), load the models (ready), drain on shutdown.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { withChoices, withDimensions, type ChatModel, type EmbeddingModel } from '../core/index.js';
import {
  serverSettingsSchema,
  modelPathsFromEnv,
  type EngineSettingsInput,
  type ModelPaths,
  type ServerSettings,
  type TenancySettingsInput,
  type ReasoningConfig,
  reasoningConfigSchema,
} from '../config/index.js';
import { MemoryCacheStore, RedisCacheStore, withEmbeddingCache, withResponseCache, type CacheStore } from '../cache/index.js';
import { withReasoning } from '../reasoning/index.js';
import { openRetriever } from '../retrieval/index.js';
import { Tenancy, withEmbeddingTenancy } from '../tenancy/index.js';
import type { EmbeddingsOnlyEngine, LlamaEngine } from '../engines/llama/index.js';
import { reportsFirstToken, ServerMetrics, withEmbeddingMetrics, withMetrics, type EngineGauges } from '../observability/index.js';
import { buildApp, type ServingState } from './app.js';

/** What a server serves once loaded. */
export interface ServedModels {
  model: ChatModel;
  /** What /v1/embeddings serves, when some served model makes embeddings. */
  embedder?: EmbeddingModel;
  /** Used by /infer when the body names no model. */
  defaultModel: string;
  gauges: EngineGauges[];
  dispose(): Promise<void>;
}

/** What a loader gets to build its models with. */
export interface LoadEnv {
  metrics: ServerMetrics;
  /** What /metrics reports engines from; a loader that swaps engines later may change it in place. */
  engineGauges: EngineGauges[];
  tenancy: Tenancy;
  /** The loader may add what the admin API offers (reload, rollouts). */
  state: ServingState;
  logger?: FastifyBaseLogger;
}

export interface StartOptions<T extends ServedModels> {
  load: (env: LoadEnv) => Promise<T>;
  server?: Partial<ServerSettings>;
  logger?: FastifyBaseLogger;
  /** Extra routes (e.g. the simulator's fault control), registered before listening. */
  routes?: (app: FastifyInstance, state: ServingState) => void | Promise<void>;
  /** Strategy defaults per model, the confidence threshold and the cascade (default: reasoning only when asked). */
  reasoning?: ReasoningConfig;
  /** Auth, tenants, limits, the ledger's file, Redis and the response cache. Default: auth off, ledger on. */
  tenancy?: TenancySettingsInput;
}

export interface RunningServer<T extends ServedModels = ServedModels> {
  app: FastifyInstance;
  tenancy: Tenancy;
  url: string;
  served: T;
  metrics: ServerMetrics;
  settings: ServerSettings;
  /** Stops accepting, lets in-flight requests finish (up to drainSeconds), then frees the models. */
  close(): Promise<void>;
}

export async function startServer<T extends ServedModels>(options: StartOptions<T>): Promise<RunningServer<T>> {
  const settings = serverSettingsSchema.parse(options.server ?? {});
  const gauges: EngineGauges[] = [];
  const metrics = new ServerMetrics(gauges);
  const tenancy = await Tenancy.open(options.tenancy);
  const state: ServingState = { metrics, inflight: new Set(), tenancy };
  const app = await buildApp({ state, server: settings, logger: options.logger });
  await options.routes?.(app, state);
  let served: T;
  try {
    await app.listen({ host: settings.host, port: settings.port });
    served = await options.load({ metrics, engineGauges: gauges, tenancy, state, logger: options.logger });
  } catch (err) {
    await app.close();
    await tenancy.close();
    throw err;
  }
  gauges.push(...served.gauges);
  const reasoningConfig = options.reasoning ?? reasoningConfigSchema.parse({});
  const retriever = reasoningConfig.retrieval ? openRetriever(reasoningConfig.retrieval) : undefined;
  const store = cacheStore(tenancy);
  const reasoning = withReasoning(withCache(withChoices(reportsFirstToken(served.model)), tenancy, store), reasoningConfig, retriever);
  state.model = withMetrics(tenancy.wrap(reasoning), metrics);
  if (served.embedder) state.embedder = withEmbeddingLayers(served.embedder, tenancy, metrics, store);
  state.defaultModel = served.defaultModel;
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  return {
    app,
    tenancy,
    url: `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`,
    served,
    metrics,
    settings,
    async close() {
      const timer = setTimeout(() => {
        for (const call of state.inflight) call.abort(new Error('server shutting down'));
      }, settings.drainSeconds * 1000);
      timer.unref();
      await app.close();
      clearTimeout(timer);
      state.model = undefined;
      state.embedder = undefined;
      await served.dispose();
      await tenancy.close();
    },
  };
}

/** Where the response cache keeps answers, when the settings ask for one: in Redis when configured, else in memory. */
function cacheStore(tenancy: Tenancy): CacheStore | undefined {
  const cache = tenancy.settings.cache;
  if (!cache?.enabled) return undefined;
  return tenancy.redis ? new RedisCacheStore(tenancy.redis) : new MemoryCacheStore(cache);
}

/** The response cache, when there is a store for it. */
function withCache(model: ChatModel, tenancy: Tenancy, store: CacheStore | undefined): ChatModel {
  return store && tenancy.settings.cache ? withResponseCache(model, store, tenancy.settings.cache) : model;
}

/** Embeddings get the layers chat gets that make sense for them: metrics, tenancy (limits, ledger), the cache. */
function withEmbeddingLayers(embedder: EmbeddingModel, tenancy: Tenancy, metrics: ServerMetrics, store: CacheStore | undefined): EmbeddingModel {
  const shaped = withDimensions(embedder);
  const cached = store && tenancy.settings.cache ? withEmbeddingCache(shaped, store, tenancy.settings.cache) : shaped;
  return withEmbeddingMetrics(withEmbeddingTenancy(cached, { store: tenancy.store, limits: tenancy.limits, ledger: tenancy.ledger }), metrics);
}

export interface ServeOptions {
  engine: EngineSettingsInput;
  server?: Partial<ServerSettings>;
  paths?: ModelPaths;
  logger?: FastifyBaseLogger;
  tenancy?: TenancySettingsInput;
  reasoning?: ReasoningConfig;
}

/** The one-model case: an embedded llama.cpp engine behind the API. */
export async function serveModel(options: ServeOptions): Promise<RunningServer<ServedModels & { engine: LlamaEngine | EmbeddingsOnlyEngine }>> {
  return startServer({
    server: options.server,
    logger: options.logger,
    tenancy: options.tenancy,
    reasoning: options.reasoning,
    load: async () => {
      const { LlamaEngine, EmbeddingsOnlyEngine } = await import('../engines/llama/index.js');
      const paths = options.paths ?? modelPathsFromEnv();
      const engine = options.engine.embeddingsOnly ? await EmbeddingsOnlyEngine.load(options.engine, paths) : await LlamaEngine.load(options.engine, paths);
      return {
        engine,
        model: engine,
        embedder: engine.embeddings,
        defaultModel: engine.description.name,
        gauges: [{ model: engine.description.name, stats: () => engine.stats }],
        dispose: () => engine.dispose(),
      };
    },
  });
}
