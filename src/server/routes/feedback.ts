// POST /v1/feedback: a caller's score for one of its own answers, by the request id it came with (x-request-id). It
// is kept per tenant and teaches the prompt bandit and the SLO watch of the prompt version that answered.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { AutoglmError, invalidRequest } from '../../core/index.js';
import { ANONYMOUS_TENANT } from '../../tenancy/index.js';
import type { ServingState } from '../app.js';
import { parseBody } from '../request-schema.js';
import './prompts.js';

const feedbackBody = z.strictObject({
  request_id: z.string().min(1).max(128).optional(),
  response_id: z.string().min(1).max(128).optional(),
  score: z.number().min(0).max(1),
  label: z.string().max(200).optional(),
});

export const feedbackRoutes =
  (state: ServingState): FastifyPluginAsync =>
  async (app) => {
    app.post('/v1/feedback', { config: { scope: 'inference' as const } }, async (request, reply) => {
      const body = parseBody(feedbackBody, request.body);
      if (body.response_id !== undefined && body.request_id === undefined)
        throw invalidRequest(
          "'response_id' cannot be looked up yet: send 'request_id', the x-request-id header of the response (or the one you sent with the request).",
          'response_id',
        );
      if (body.request_id === undefined) throw invalidRequest("'request_id' is required: the x-request-id header of the response being scored.", 'request_id');
      if (!state.prompts) throw new AutoglmError(503, 'server_error', 'starting', 'The server is still starting; retry shortly.', null, 1);
      const tenant = request.principal?.tenant ?? ANONYMOUS_TENANT;
      const served = state.prompts.feedback(tenant, body.request_id, body.score, body.label);
      if (!served) throw new AutoglmError(404, 'not_found_error', 'request_not_found', `No request '${body.request_id}' of this tenant.`, 'request_id');
      return reply.code(201).send({
        object: 'feedback',
        request_id: body.request_id,
        score: body.score,
        label: body.label ?? null,
        prompt: served.prompt === undefined ? null : `${served.prompt}@${served.version}`,
      });
    });
  };
