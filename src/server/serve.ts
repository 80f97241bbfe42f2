// Starts a server around the embedded engine: listen first (live), load the model (ready), drain on shutdown.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { withChoices } from '../core/index.js';
import { serverSettingsSchema, modelPathsFromEnv, type EngineSettingsInput, type ModelPaths, type ServerSettings } from '../config/index.js';
import { LlamaEngine } from '../engines/llama/index.js';
import { ServerMetrics, withMetrics } from '../observability/index.js';
import { buildApp, type ServingState } from './app.js';

export interface ServeOptions {
  engine: EngineSettingsInput;
  server?: Partial<ServerSettings>;
  paths?: ModelPaths;
  logger?: FastifyBaseLogger;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  engine: LlamaEngine;
  settings: ServerSettings;
  /** Stops accepting, lets in-flight requests finish (up to drainSeconds), then frees the model. */
  close(): Promise<void>;
}

export async function serveModel(options: ServeOptions): Promise<RunningServer> {
  const settings = serverSettingsSchema.parse(options.server ?? {});
  let engine: LlamaEngine | undefined;
  const metrics = new ServerMetrics([
    { get model() { return engine?.description.name ?? 'loading'; }, stats: () => engine?.stats ?? { parallel: 0, busySequences: 0, queueDepth: 0 } },
  ]);
  const state: ServingState = { metrics, inflight: new Set() };
  const app = await buildApp({ state, bodyLimitBytes: settings.bodyLimitBytes, logger: options.logger });
  await app.listen({ host: settings.host, port: settings.port });
  try {
    engine = await LlamaEngine.load(options.engine, options.paths ?? modelPathsFromEnv());
  } catch (err) {
    await app.close();
    throw err;
  }
  state.model = withMetrics(withChoices(engine), metrics);
  state.defaultModel = engine.description.name;
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  const loaded = engine;
  return {
    app,
    url: `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`,
    engine: loaded,
    settings,
    async close() {
      const timer = setTimeout(() => {
        for (const call of state.inflight) call.abort(new Error('server shutting down'));
      }, settings.drainSeconds * 1000);
      timer.unref();
      await app.close();
      clearTimeout(timer);
      state.model = undefined;
      await loaded.dispose();
    },
  };
}
