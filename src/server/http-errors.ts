// Client and server errors as HTTP responses in OpenAI's shape, for fastify's routes and the node:http inference routes.
import type { ServerResponse } from 'node:http';
import type { FastifyError } from 'fastify';
import { AutoglmError } from '../core/index.js';

export const requestTooLarge = () => new AutoglmError(413, 'invalid_request_error', 'request_too_large', 'The request body is larger than this server accepts.');
export const unsupportedMediaType = () => new AutoglmError(415, 'invalid_request_error', 'unsupported_media_type', "Send the body as JSON with 'Content-Type: application/json'.");
export const invalidJson = (reason: string) => new AutoglmError(400, 'invalid_request_error', 'invalid_json', `The request body is not valid JSON: ${reason}`);

/** Fastify's own client errors (bad JSON, body too large, wrong content type) in OpenAI's shape. */
export function fromFastifyError(err: FastifyError): AutoglmError {
  const status = err.statusCode ?? 500;
  if (status === 413) return requestTooLarge();
  if (status === 415) return unsupportedMediaType();
  if (status >= 400 && status < 500) {
    return err.code?.includes('JSON') ? invalidJson(err.message) : new AutoglmError(status, 'invalid_request_error', 'invalid_request', err.message);
  }
  return new AutoglmError(500, 'server_error', 'internal_error', 'The server had an error while processing your request.');
}

/** The headers an error response carries: what the layers reported (rate limits, replica) and Retry-After. */
export function errorHeaders(error: AutoglmError, reported: Record<string, string> | undefined): Record<string, string> {
  const headers = reported ? { ...reported } : {};
  if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
  return headers;
}

/** Writes an error on a raw response, unless the headers are already out (a stream ends with an error event instead). */
export function sendError(res: ServerResponse, error: AutoglmError, reported?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(error.toJSON());
  res.writeHead(error.status, { ...errorHeaders(error, reported), 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
