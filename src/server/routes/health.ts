// Liveness, readiness and Prometheus metrics.
import type { FastifyPluginAsync } from 'fastify';
import type { ServingState } from '../app.js';
import { modelLoading, shuttingDown } from '../http-errors.js';

export const healthRoutes =
  (state: ServingState): FastifyPluginAsync =>
  async (app) => {
    // Live while the process serves, draining included: a liveness probe must not restart a pod that is stopping.
    app.get('/health', async () => ({ status: 'ok' }));

    app.get('/ready', async () => {
      // 503 in the same shape as every other error, so a probe and a client read it alike.
      if (state.draining) throw shuttingDown();
      if (!state.model) throw modelLoading();
      return { status: 'ready', models: state.model.models().map((m) => m.id) };
    });

    app.get('/metrics', async (_request, reply) => {
      reply.header('content-type', state.metrics.registry.contentType);
      return state.metrics.registry.metrics();
    });
  };
