// Starts a server around any ChatModel: listen first (live), load the models (ready), drain on shutdown.
import { statSync } from 'node:fs';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { ModelUnavailableError, withChoices, withDimensions, type ChatModel, type EmbeddingModel } from '../core/index.js';
import {
  engineSettingsSchema,
  modelSetSettingsSchema,
  serverSettingsSchema,
  modelPathsFromEnv,
  type EngineSettingsInput,
  type ModelPaths,
  type ModelSetSettingsInput,
  type ServerSettings,
  type TenancySettingsInput,
  type ReasoningConfig,
  reasoningConfigSchema,
  tracingSettings,
  type TracingConfig,
  ConfigError,
} from '../config/index.js';
import { MemoryCacheStore, RedisCacheStore, withEmbeddingCache, withResponseCache, type CacheStore } from '../cache/index.js';
import { withReasoning } from '../reasoning/index.js';
import { openRetriever } from '../retrieval/index.js';
import { Tenancy, withEmbeddingTenancy } from '../tenancy/index.js';
import type { EmbeddingsOnlyEngine, LlamaEngine, LoadedModelDescription, LoadedModelSet, SetMember } from '../engines/llama/index.js';
import { reportsFirstToken, ServerMetrics, withEmbeddingMetrics, withMetrics, type EngineGauges } from '../observability/index.js';
import type { Tracing } from '../observability/tracing/index.js';
import { buildApp, type ServingState } from './app.js';
import { managedPromptsLayer, type PromptsSetup } from './routes/prompts.js';

/** What a server serves once loaded. */
export interface ServedModels {
  model: ChatModel;
  /** The loader put the caches (and n > 1) in itself (LoadEnv.withCache, withEmbeddingCache): none is added above. */
  cached?: true;
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
  /**
   * n > 1 fanned out into single choices, then the response cache around that (when it is on), for a loader that
   * routes a name to versions: put below that routing, the cache keys on the version that answers, and an n-choice
   * answer is one entry with one report. The loader then says `cached`, and neither is added above it.
   */
  withCache(model: ChatModel): ChatModel;
  /** The same for embeddings: vectors of two versions are of two models, and must never be served for each other. */
  withEmbeddingCache(embedder: EmbeddingModel): EmbeddingModel;
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
  /** Managed prompts: the config's templates and each model's default prompt (the database's are always there). */
  prompts?: PromptsSetup;
  /** The config's `tracing:` section; AUTOGLM_TRACING=1 and the OTEL_* variables turn it on without one. */
  tracing?: TracingConfig;
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
  // Export failures are logged by the app, which exists by the time any span is exported.
  const tracing = await startTracing(options.tracing, (message) => app.log.warn(message));
  const store = cacheStore(tenancy);
  const state: ServingState = { metrics, inflight: new Set(), tenancy, ...(tracing && { tracing }) };
  const app = await buildApp({ state, server: settings, logger: options.logger });
  await options.routes?.(app, state);
  let served: T;
  try {
    await app.listen({ host: settings.host, port: settings.port }).catch((err: unknown) => {
      throw listenFailure(err, settings.host);
    });
    served = await options.load({
      metrics,
      engineGauges: gauges,
      tenancy,
      state,
      logger: options.logger,
      withCache: (model) => withCache(withChoices(model), tenancy, store),
      withEmbeddingCache: (embedder) => withCachedEmbeddings(embedder, tenancy, store),
    });
  } catch (err) {
    await app.close();
    await tenancy.close();
    await tracing?.shutdown();
    throw err;
  }
  gauges.push(...served.gauges);
  const reasoningConfig = options.reasoning ?? reasoningConfigSchema.parse({});
  // Re-ranking with a model served here calls it in-process, below tenancy: the request was admitted and is recorded once.
  const retriever = reasoningConfig.retrieval ? openRetriever(reasoningConfig.retrieval, { served: () => served.embedder }) : undefined;
  const first = reportsFirstToken(served.model);
  const answered = served.cached ? first : withCache(withChoices(first), tenancy, store);
  const reasoning = withReasoning(answered, reasoningConfig, retriever);
  state.model = withMetrics(tenancy.wrap(managedPromptsLayer(reasoning, state, tenancy, options.prompts)), metrics);
  if (served.embedder) state.embedder = withEmbeddingLayers(served.embedder, tenancy, metrics, served.cached ? undefined : store);
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
      await tracing?.shutdown();
    },
  };
}

/** The tracing SDK when tracing is on; its modules are not even loaded otherwise. */
async function startTracing(config: TracingConfig | undefined, warn: (message: string) => void): Promise<Tracing | undefined> {
  const settings = tracingSettings(config);
  if (!settings) return undefined;
  const { Tracing } = await import('../observability/tracing/index.js');
  return Tracing.start(settings, warn);
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

/** The embedding cache, when there is a store for it. */
function withCachedEmbeddings(embedder: EmbeddingModel, tenancy: Tenancy, store: CacheStore | undefined): EmbeddingModel {
  return store && tenancy.settings.cache ? withEmbeddingCache(embedder, store, tenancy.settings.cache) : embedder;
}

/** Embeddings get the layers chat gets that make sense for them: metrics, tenancy (limits, ledger), the cache. */
function withEmbeddingLayers(embedder: EmbeddingModel, tenancy: Tenancy, metrics: ServerMetrics, store: CacheStore | undefined): EmbeddingModel {
  const cached = withCachedEmbeddings(withDimensions(embedder), tenancy, store);
  return withEmbeddingMetrics(withEmbeddingTenancy(cached, { store: tenancy.store, limits: tenancy.limits, ledger: tenancy.ledger }), metrics);
}

export interface ServeOptions {
  /** The model served (the default one, with several), and the settings of the engine. */
  engine: EngineSettingsInput;
  /** Models served beside `engine` from the same process, each complete (model, alias and engine settings). */
  moreModels?: EngineSettingsInput[];
  /**
   * Keep-alive and the memory budget. With several models they apply by default; given with one, its model is
   * unloaded when idle too.
   */
  modelSet?: ModelSetSettingsInput;
  server?: Partial<ServerSettings>;
  paths?: ModelPaths;
  logger?: FastifyBaseLogger;
  tenancy?: TenancySettingsInput;
  reasoning?: ReasoningConfig;
}

/** What serveModel serves: its one engine, or the set that loads several on demand. */
export type ServedLlama = ServedModels & {
  engine?: LlamaEngine | EmbeddingsOnlyEngine;
  modelSet?: LoadedModelSet;
  /** The default model as it was loaded at start (it may have been unloaded since, with a keep-alive). */
  description: LoadedModelDescription;
};

/**
 * Embedded llama.cpp engines behind the API. One model is loaded at start and stays loaded, as a single server
 * should. Several (or one with keep-alive settings) make a LoadedModelSet: the first is loaded at start (the server
 * is ready once it is), the others on their first request, and each unloads after its keep-alive.
 */
export async function serveModel(options: ServeOptions): Promise<RunningServer<ServedLlama>> {
  return startServer({
    server: options.server,
    logger: options.logger,
    tenancy: options.tenancy,
    reasoning: options.reasoning,
    load: async (env) => {
      const { LlamaEngine, EmbeddingsOnlyEngine } = await import('../engines/llama/index.js');
      const paths = options.paths ?? modelPathsFromEnv();
      if (options.moreModels?.length || options.modelSet)
        return loadModelSet([options.engine, ...(options.moreModels ?? [])], options.modelSet ?? {}, paths, env);
      const engine = options.engine.embeddingsOnly ? await EmbeddingsOnlyEngine.load(options.engine, paths) : await LlamaEngine.load(options.engine, paths);
      return {
        engine,
        description: engine.description,
        model: engine,
        embedder: engine.embeddings,
        defaultModel: engine.description.name,
        gauges: [{ model: engine.description.name, stats: () => engine.stats }],
        dispose: () => engine.dispose(),
      };
    },
  });
}

/** Several models as one set: names checked unique up front, loads and unloads counted and their gauges followed. */
async function loadModelSet(inputs: EngineSettingsInput[], setInput: ModelSetSettingsInput, paths: ModelPaths, env: LoadEnv): Promise<ServedLlama> {
  const { LlamaEngine, EmbeddingsOnlyEngine, LoadedModelSet, resolveModel } = await import('../engines/llama/index.js');
  const setSettings = modelSetSettingsSchema.parse(setInput);
  // Every file is found before anything loads: a typo in the third model fails at startup, not at its first request.
  const members: SetMember[] = [];
  const foundAt: string[] = [];
  for (const input of inputs) {
    const settings = engineSettingsSchema.parse(input);
    const resolved = await resolveModel(settings.model, paths);
    const name = settings.alias ?? resolved.name;
    const twin = members.findIndex((m) => m.name === name);
    if (twin >= 0) {
      throw new ModelUnavailableError(
        `two models would be served as '${name}' (${foundAt[twin]} and ${resolved.path}); give each its own name with --alias, in the order of --model`,
      );
    }
    foundAt.push(resolved.path);
    const engineInput = { ...settings, model: resolved.path, alias: name };
    members.push({
      name,
      bytes: statSync(resolved.path).size,
      path: resolved.path,
      load: () => (settings.embeddingsOnly ? EmbeddingsOnlyEngine.load(engineInput, paths) : LlamaEngine.load(engineInput, paths)),
    });
  }
  const { metrics, engineGauges, logger } = env;
  const set = new LoadedModelSet(members, {
    keepAliveSeconds: setSettings.keepAlive,
    maxLoadedModels: setSettings.maxLoadedModels,
    maxLoadedBytes: setSettings.maxLoadedBytes,
    onLoaded(model, engine) {
      metrics.modelLoads.inc({ model });
      engineGauges.push({ model, stats: () => engine.stats });
      logger?.info({ model }, 'model loaded');
    },
    onUnloaded(model, reason) {
      metrics.modelUnloads.inc({ model, reason });
      // The gauges follow the engines in memory: the array is read at every scrape.
      for (let i = engineGauges.length - 1; i >= 0; i--) if (engineGauges[i]!.model === model) engineGauges.splice(i, 1);
      logger?.info({ model, reason }, 'model unloaded');
    },
  });
  metrics.watchModelStates(() => set.states());
  const first = members[0]!.name;
  let loaded: LoadedModelDescription;
  try {
    loaded = (await set.preload(first)).description;
  } catch (err) {
    await set.dispose();
    throw err;
  }
  return { modelSet: set, description: loaded, model: set, embedder: set.embeddings, defaultModel: first, gauges: [], dispose: () => set.dispose() };
}

/**
 * An address this machine cannot listen on, said in the words of the flag that chose it: Node's own messages
 * ("getaddrinfo ENOTFOUND 256.1.1.1", "listen EADDRNOTAVAIL") name a system call, not what to do.
 */
function listenFailure(err: unknown, host: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const hint = 'give --host an address of this machine: 127.0.0.1 for this machine only, 0.0.0.0 (or ::) for every interface';
  if (code === 'ENOTFOUND' || code === 'EAI_NONAME') return new ConfigError(`cannot listen on '${host}': no such address or host name; ${hint}`);
  // A resolver that did not answer this time: the name may be right.
  if (code === 'EAI_AGAIN') return new ConfigError(`cannot listen on '${host}': its name could not be resolved just now; try again, or ${hint}`);
  if (code === 'EADDRNOTAVAIL') return new ConfigError(`cannot listen on '${host}': not an address of this machine; ${hint}`);
  return err;
}
