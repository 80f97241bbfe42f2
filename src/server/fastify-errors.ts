// Errors on fastify's routes: thrown ones, unknown URLs and wrong methods, all in OpenAI's shape and logged once.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AutoglmError } from '../core/index.js';
import { pathOf } from './access-log.js';
import { errorDialectOf, errorHeaders, fromFastifyError, methodNotAllowed, unknownUrl } from './http-errors.js';
import type { RouteTable } from './route-table.js';

/** Sends an error in the dialect of the request's path, with the headers the layers reported (rate limits, replica). */
export function replyWithError(request: FastifyRequest, reply: FastifyReply, error: AutoglmError): FastifyReply {
  request.exchange.error ??= error;
  return reply
    .code(error.status)
    .headers(errorHeaders(error, request.exchange.report?.headers))
    .type('application/json; charset=utf-8')
    .send(errorDialectOf(request.url)(error));
}

/** The error handler and the not-found handler; `routes` tells a wrong method (405 with Allow) from an unknown path. */
export function answerErrors(app: FastifyInstance, routes: RouteTable): void {
  app.setErrorHandler((err: FastifyError | AutoglmError, request, reply) => {
    // Answered already (a body deadline's 408), or a client that hung up: there is no one left to answer.
    if (reply.raw.headersSent || reply.raw.destroyed || request.raw.socket?.destroyed) return;
    const error = err instanceof AutoglmError ? err : fromFastifyError(err);
    // The access line logs it; what a bug threw is kept for its stack.
    request.exchange.error = error.status >= 500 && !(err instanceof AutoglmError) ? err : error;
    return replyWithError(request, reply, error);
  });

  app.setNotFoundHandler((request, reply) => {
    const query = request.url.indexOf('?');
    const allowed = routes.allowed(query < 0 ? request.url : request.url.slice(0, query));
    const path = pathOf(request.url);
    // A route that answers this method and still found nothing (a missing static file) is a plain 404.
    const wrongMethod = allowed.length > 0 && !allowed.includes(request.method);
    const error = wrongMethod ? methodNotAllowed(request.method, path, allowed) : unknownUrl(request.method, path);
    if (wrongMethod) reply.header('allow', allowed.join(', '));
    return replyWithError(request, reply, error);
  });
}
