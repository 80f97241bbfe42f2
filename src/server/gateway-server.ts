// The gateway server: every model of a config file behind one OpenAI-compatible API, reloadable while it serves.
import type { FastifyBaseLogger } from 'fastify';
import type { GatewayConfig, ModelPaths } from '../config/index.js';
import { GatewayMetrics } from '../observability/index.js';
import { GatewayRuntime, type RuntimeOptions } from './gateway-runtime.js';
import { startServer, type RunningServer, type ServedModels } from './serve.js';

export type GatewayServer = RunningServer<ServedModels & { runtime: GatewayRuntime }>;

export async function serveGateway(
  config: GatewayConfig,
  options: {
    logger?: FastifyBaseLogger;
    paths?: ModelPaths;
    seed?: number;
    serverOverrides?: Partial<GatewayConfig['server']>;
    /** The file the config came from: reloads (POST /admin/reload, SIGHUP, edits when watched) read it again. */
    configPath?: string;
    /** Reload when the file changes. */
    watch?: boolean;
    /** Told of every replica DNS discovery adds or drains. */
    onDiscovery?: RuntimeOptions['onDiscovery'];
  } = {},
): Promise<GatewayServer> {
  const server = { ...config.server, ...options.serverOverrides };
  return startServer({
    server,
    logger: options.logger,
    reasoning: config.reasoning,
    tracing: config.tracing,
    prompts: {
      prompts: config.prompts,
      models: Object.fromEntries(Object.entries(config.models).flatMap(([m, c]) => (c.prompt ? [[m, c.prompt]] : []))),
      seed: options.seed,
    },
    tenancy: { auth: config.auth, database: config.database, redis: config.redis, tenants: config.tenants, cache: config.cache, responses: config.responses },
    load: async ({ metrics, engineGauges, tenancy, state, logger, withCache, withEmbeddingCache }) => {
      const runtime = await GatewayRuntime.start(config, {
        metrics: new GatewayMetrics(metrics.registry),
        engineGauges,
        tenancy,
        logger,
        withCache,
        withEmbeddingCache,
        paths: options.paths,
        seed: options.seed,
        drainMs: (server.drainSeconds ?? 30) * 1000,
        configPath: options.configPath,
        onDiscovery: options.onDiscovery,
        // Embedded models loaded on demand (`embedded:`) are counted and listed as `serve -m A -m B` counts them.
        embeddedModels: {
          loaded: (model) => metrics.modelLoads.inc({ model }),
          unloaded: (model, reason) => metrics.modelUnloads.inc({ model, reason }),
          watch: (states) => metrics.watchModelStates(states),
        },
      });
      if (options.configPath) state.reload = () => runtime.reloadFromFile();
      if (options.watch) runtime.watchFile();
      state.releases = runtime;
      // A tenant's model list allows the aliases of the models it names, whatever the config now aliases.
      tenancy.limits.aliasOf = (name) => {
        const { aliases } = runtime.currentConfig;
        return Object.hasOwn(aliases, name) ? aliases[name] : undefined;
      };
      state.replicas = () => runtime.replicaStatus();
      return {
        runtime,
        model: runtime.live,
        // Below the release routing, so that an answer (or a vector) is cached for the version that gave it.
        cached: true,
        // Models whose replicas embed, and releases of them, followed across reloads.
        embedder: runtime.embeddings,
        defaultModel: Object.keys(config.models)[0]!,
        gauges: [],
        dispose: () => runtime.close(),
      };
    },
  });
}
