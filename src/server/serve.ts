// Starts a server around any ChatModel: listen first (live), load the models (ready), drain on shutdown.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { withChoices, type ChatModel } from '../core/index.js';
import { serverSettingsSchema, modelPathsFromEnv, type EngineSettingsInput, type ModelPaths, type ServerSettings } from '../config/index.js';
import type { LlamaEngine } from '../engines/llama/index.js';
import { ServerMetrics, withMetrics, type EngineGauges } from '../observability/index.js';
import { buildApp, type ServingState } from './app.js';

/** What a server serves once loaded. */
export interface ServedModels {
  model: ChatModel;
  /** Used by /infer when the body names no model. */
  defaultModel: string;
  gauges: EngineGauges[];
  dispose(): Promise<void>;
}

export interface StartOptions<T extends ServedModels> {
  load: (metrics: ServerMetrics) => Promise<T>;
  server?: Partial<ServerSettings>;
  logger?: FastifyBaseLogger;
  /** Extra routes (e.g. the simulator's fault control), registered before listening. */
  routes?: (app: FastifyInstance, state: ServingState) => void | Promise<void>;
}

export interface RunningServer<T extends ServedModels = ServedModels> {
  app: FastifyInstance;
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
  const state: ServingState = { metrics, inflight: new Set() };
  const app = await buildApp({ state, bodyLimitBytes: settings.bodyLimitBytes, logger: options.logger });
  await options.routes?.(app, state);
  await app.listen({ host: settings.host, port: settings.port });
  let served: T;
  try {
    served = await options.load(metrics);
  } catch (err) {
    await app.close();
    throw err;
  }
  gauges.push(...served.gauges);
  state.model = withMetrics(withChoices(served.model), metrics);
  state.defaultModel = served.defaultModel;
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  return {
    app,
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
      await served.dispose();
    },
  };
}

export interface ServeOptions {
  engine: EngineSettingsInput;
  server?: Partial<ServerSettings>;
  paths?: ModelPaths;
  logger?: FastifyBaseLogger;
}

/** The one-model case: an embedded llama.cpp engine behind the API. */
export async function serveModel(options: ServeOptions): Promise<RunningServer<ServedModels & { engine: LlamaEngine }>> {
  return startServer({
    server: options.server,
    logger: options.logger,
    load: async () => {
      const { LlamaEngine } = await import('../engines/llama/index.js');
      const engine = await LlamaEngine.load(options.engine, options.paths ?? modelPathsFromEnv());
      return {
        engine,
        model: engine,
        defaultModel: engine.description.name,
        gauges: [{ model: engine.description.name, stats: () => engine.stats }],
        dispose: () => engine.dispose(),
      };
    },
  });
}
