// POST /v1/feedback: a caller's score for one of its own answers, by the answer's id (a chat completion's, a
// response's, a message's) or by the request id it came with (x-request-id). It is kept per tenant and teaches the
// prompt bandit and the SLO watch of the prompt version that answered.
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

/** The id prefixes of this server's answers, in each dialect's style: what follows is the answer's key. */
const ANSWER_ID = /^(?:chatcmpl-|cmpl-|resp_|msg_)(.+)$/;

export const feedbackRoutes =
  (state: ServingState): FastifyPluginAsync =>
  async (app) => {
    app.post('/v1/feedback', { config: { scope: 'inference' as const } }, async (request, reply) => {
      const body = parseBody(feedbackBody, request.body);
      const { request_id: requestId, response_id: responseId } = body;
      if (requestId === undefined && responseId === undefined)
        throw invalidRequest(
          "Name the answer being scored: 'response_id' (its id, e.g. chatcmpl-..., resp_..., msg_...) or 'request_id' (its x-request-id header).",
          'request_id',
        );
      if (requestId !== undefined && responseId !== undefined)
        throw invalidRequest("Send one of 'response_id' and 'request_id', not both: each names an answer on its own.", 'response_id');
      const answerKey = responseId === undefined ? undefined : ANSWER_ID.exec(responseId)?.[1];
      if (responseId !== undefined && answerKey === undefined)
        throw invalidRequest(
          `'${responseId}' is not the id of an answer of this server (chatcmpl-..., cmpl-..., resp_... or msg_...).`,
          'response_id',
          'invalid_value',
        );
      if (!state.prompts) throw new AutoglmError(503, 'server_error', 'starting', 'The server is still starting; retry shortly.', null, 1);
      const tenant = request.principal?.tenant ?? ANONYMOUS_TENANT;
      const served = state.prompts.feedback(tenant, answerKey === undefined ? { requestId: requestId! } : { answerKey }, body.score, body.label);
      if (!served)
        throw responseId === undefined
          ? new AutoglmError(404, 'not_found_error', 'request_not_found', `No request '${requestId}' of this tenant.`, 'request_id')
          : new AutoglmError(404, 'not_found_error', 'response_not_found', `No answer '${responseId}' of this tenant.`, 'response_id');
      return reply.code(201).send({
        object: 'feedback',
        request_id: served.requestId,
        ...(responseId !== undefined && { response_id: responseId }),
        score: body.score,
        label: body.label ?? null,
        prompt: served.prompt === undefined ? null : `${served.prompt}@${served.version}`,
      });
    });
  };
