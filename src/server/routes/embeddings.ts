// POST /v1/embeddings: OpenAI's embeddings endpoint over the server's EmbeddingModel; the handler only translates.
import type { FastifyPluginAsync } from 'fastify';
import { AutoglmError, modelNotFound, type EmbeddingModel } from '../../core/index.js';
import type { ServingState } from '../app.js';
import { embeddingRequestFromWire, embeddingsToWire } from '../embeddings-wire.js';
import { modelLoading } from '../http-errors.js';
import { callContext } from '../streaming.js';

/** The EmbeddingModel for a request: 503 while loading, 404 for a name served nowhere, 400 for a chat-only model. */
export function servingEmbedder(state: ServingState, name: string): EmbeddingModel {
  const embedder = state.embedder;
  if (!state.model) throw modelLoading();
  const embeds = embedder?.models() ?? [];
  if (embeds.some((m) => m.id === name)) return embedder!;
  if (state.model.models().some((m) => m.id === name)) {
    throw new AutoglmError(
      400,
      'invalid_request_error',
      'embeddings_unsupported',
      `The model '${name}' does not make embeddings.${embeds.length ? ` Models that do: ${embeds.map((m) => m.id).join(', ')}.` : ''}`,
      'model',
    );
  }
  throw modelNotFound(
    name,
    embeds.map((m) => m.id),
  );
}

export const embeddingsRoutes =
  (state: ServingState): FastifyPluginAsync =>
  async (app) => {
    app.post('/v1/embeddings', { config: { scope: 'inference' } }, async (request, reply) => {
      const { req, encoding } = embeddingRequestFromWire(request.body);
      request.exchange.model = req.model;
      const embedder = servingEmbedder(state, req.model);
      const ctx = callContext(request, request.raw.socket, reply.raw, state.inflight);
      request.exchange.report = ctx.report;
      const result = await embedder.embed(req, ctx);
      request.exchange.usage = { promptTokens: result.usage.promptTokens, completionTokens: 0, cachedPromptTokens: 0 };
      reply.headers(ctx.report.headers);
      return embeddingsToWire(ctx.report.model ?? req.model, result, encoding);
    });
  };
