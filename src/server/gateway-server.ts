// The gateway server: every model of a config file behind one OpenAI-compatible API.
import type { FastifyBaseLogger } from 'fastify';
import type { GatewayConfig, ModelPaths } from '../config/index.js';
import { GatewayMetrics } from '../observability/index.js';
import { buildGateway, type Gateway } from '../router/index.js';
import { startServer, type RunningServer, type ServedModels } from './serve.js';

export type GatewayServer = RunningServer<ServedModels & { gateway: Gateway }>;

export async function serveGateway(
  config: GatewayConfig,
  options: {
    logger?: FastifyBaseLogger;
    paths?: ModelPaths;
    seed?: number;
    serverOverrides?: Partial<GatewayConfig['server']>;
    /** Re-reads the config file for POST /admin/reload. */
    reload?: () => Promise<GatewayConfig>;
  } = {},
): Promise<GatewayServer> {
  return startServer({
    server: { ...config.server, ...options.serverOverrides },
    logger: options.logger,
    tenancy: { auth: config.auth, database: config.database, redis: config.redis, tenants: config.tenants, cache: config.cache },
    reloadTenancy: options.reload,
    load: async (metrics) => {
      const gateway = await buildGateway(config, { metrics: new GatewayMetrics(metrics.registry), paths: options.paths, seed: options.seed });
      return {
        gateway,
        model: gateway.router,
        defaultModel: Object.keys(config.models)[0]!,
        gauges: gateway.gauges,
        dispose: () => gateway.close(),
      };
    },
  });
}
