// Liveness, readiness and Prometheus metrics.
import type { FastifyPluginAsync } from 'fastify';
import type { ServingState } from '../app.js';

export const healthRoutes = (state: ServingState): FastifyPluginAsync => async (app) => {
  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (_request, reply) => {
    if (!state.model) return reply.code(503).header('retry-after', '2').send({ status: 'loading' });
    return { status: 'ready', models: state.model.models().map((m) => m.id) };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', state.metrics.registry.contentType);
    return state.metrics.registry.metrics();
  });
};
