// GET and DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items: a tenant's stored responses, read or
// removed. Another tenant's id is a 404 like an unknown one, so ids tell nothing across tenants.
import type { FastifyPluginAsync } from 'fastify';
import { AutoglmError, invalidRequest } from '../../../core/index.js';
import { ANONYMOUS_TENANT, type ResponseStore } from '../../../tenancy/index.js';
import type { ServingState } from '../../app.js';
import { responseNotFound } from './errors.js';
import { inputItemsPage } from './input-items.js';

interface ById {
  Params: { id: string };
  Querystring: Record<string, unknown>;
}

export const responsesRoutes =
  (state: ServingState): FastifyPluginAsync =>
  async (app) => {
    const store = (): ResponseStore => {
      if (!state.tenancy) throw new AutoglmError(503, 'server_error', 'starting', 'The server is still starting; retry shortly.', null, 1);
      return state.tenancy.responses;
    };
    const inference = { config: { scope: 'inference' as const } };

    app.get<ById>('/v1/responses/:id', inference, async (request, reply) => {
      const stream = request.query.stream;
      if (stream !== undefined && stream !== 'false') {
        throw invalidRequest('Replaying a stored response as a stream is not served here; GET it without stream=true.', 'stream', 'unsupported_value');
      }
      const stored = store().get(request.principal?.tenant ?? ANONYMOUS_TENANT, request.params.id);
      if (!stored) throw responseNotFound(request.params.id);
      return reply.type('application/json; charset=utf-8').send(stored.response);
    });

    app.get<ById>('/v1/responses/:id/input_items', inference, async (request) => {
      const stored = store().get(request.principal?.tenant ?? ANONYMOUS_TENANT, request.params.id);
      if (!stored) throw responseNotFound(request.params.id);
      return inputItemsPage(request.params.id, stored.input, request.query);
    });

    app.delete<ById>('/v1/responses/:id', inference, async (request) => {
      if (!store().delete(request.principal?.tenant ?? ANONYMOUS_TENANT, request.params.id)) throw responseNotFound(request.params.id);
      return { id: request.params.id, object: 'response.deleted', deleted: true };
    });
  };
