// Liveness, readiness and Prometheus metrics.
import type { FastifyPluginAsync } from 'fastify';
import type { ServingState } from '../app.js';
import { modelLoading } from '../http-errors.js';

export const healthRoutes =
  (state: ServingState): FastifyPluginAsync =>
  async (app) => {
    app.get('/health', async () => ({ status: 'ok' }));

    app.get('/ready', async () => {
      // 503 in the same shape as every other error, so a probe and a client read it alike.
      if (!state.model) throw modelLoading();
      return { status: 'ready', models: state.model.models().map((m) => m.id) };
    });

    app.get('/metrics', async (_request, reply) => {
      reply.header('content-type', state.metrics.registry.contentType);
      return state.metrics.registry.metrics();
    });
  };
