// POST /v1/messages/count_tokens: the prompt tokens a Messages request would cost, by the served model's own
// tokenizer and template where it has them; where it has none (a remote or simulated engine), an estimate that says so.
import type { FastifyPluginAsync } from 'fastify';
import { AutoglmError, estimateTokens, promptTextOf, type ChatModel, type ChatRequest } from '../../../core/index.js';
import { parseStrategyModel } from '../../../reasoning/index.js';
import { servingModel, type ServingState } from '../../app.js';
import { anthropicCredential } from './messages-endpoint.js';
import { chatRequestFromConversation } from './messages-request.js';
import { countTokensBody } from './messages-schema.js';
import { parseAnthropicBody } from './parse-body.js';

/** Whether a count is the model's own (`exact`) or the four-characters-a-token estimate (`estimate`). */
export const TOKEN_COUNT_HEADER = 'x-autoglm-token-count';

/**
 * The prompt's tokens: the model's count when it can make one. A model that cannot count throws a plain Error (the
 * router's "cannot count tokens"), and then the prompt and tools are estimated, as rate limits estimate them.
 * An AutoglmError is the request's own fault (an image a text model cannot read) and is the answer.
 */
async function countOf(model: ChatModel, req: ChatRequest): Promise<{ tokens: number; exact: boolean }> {
  if (model.countTokens) {
    try {
      return { tokens: await model.countTokens(req), exact: true };
    } catch (err) {
      if (err instanceof AutoglmError) throw err;
    }
  }
  const tools = req.tools?.length ? JSON.stringify(req.tools) : '';
  return { tokens: estimateTokens(promptTextOf(req)) + estimateTokens(tools), exact: false };
}

export const countTokensRoutes =
  (state: ServingState): FastifyPluginAsync =>
  async (app) => {
    // No route scope: the key may come as x-api-key, which the shared auth hook does not read; it is checked here.
    app.post('/v1/messages/count_tokens', async (request, reply) => {
      const principal = state.tenancy?.principal(anthropicCredential(request.headers), 'inference');
      request.principal = request.exchange.principal = principal;
      const body = parseAnthropicBody(countTokensBody, request.body);
      const req = chatRequestFromConversation(body);
      request.exchange.model = req.model;
      const model = servingModel(state, req.model);
      // `sc:glm-4` counts the prompt glm-4 sees.
      const served = model.models().some((m) => m.id === req.model);
      const name = served ? req.model : parseStrategyModel(req.model).model;
      if (principal && state.tenancy && !state.tenancy.modelFilter(principal)(name)) {
        throw new AutoglmError(403, 'permission_error', 'model_not_allowed', `This API key may not use the model '${name}'.`, 'model');
      }
      const { tokens, exact } = await countOf(model, { ...req, model: name });
      reply.header(TOKEN_COUNT_HEADER, exact ? 'exact' : 'estimate');
      return { input_tokens: tokens };
    });
  };
