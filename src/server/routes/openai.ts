// OpenAI wire format, the model list: GET /v1/models and /v1/models/:id (completions are in openai-inference.ts).
import type { FastifyPluginAsync } from 'fastify';
import type { ModelInfo } from '../../core/index.js';
import { servingModel, type ServingState } from '../app.js';

export const openAIRoutes =
  (state: ServingState): FastifyPluginAsync =>
  async (app) => {
    // `status` beside OpenAI's fields where models load on demand (OpenAI clients ignore fields they do not know).
    const modelObject = (m: ModelInfo) => ({ id: m.id, object: 'model', created: m.created, owned_by: m.ownedBy, ...(m.status && { status: m.status }) });

    app.get('/v1/models', { config: { scope: 'inference' } }, async (request) => {
      // A tenant (or key) limited to some models sees only those.
      const may = request.principal && state.tenancy ? state.tenancy.modelFilter(request.principal) : () => true;
      return { object: 'list', data: (state.model?.models() ?? []).filter((m) => may(m.id)).map(modelObject) };
    });

    app.get<{ Params: { id: string } }>('/v1/models/:id', { config: { scope: 'inference' } }, async (request) => {
      const model = servingModel(state, request.params.id);
      return modelObject(model.models().find((m) => m.id === request.params.id)!);
    });
  };
