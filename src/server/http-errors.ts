// Client and server errors as HTTP responses in OpenAI's shape: for fastify's routes, the node:http inference routes,
// and the bare socket of a request that never became one (malformed, headers too large, too slow to arrive).
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { FastifyError } from 'fastify';
import { AutoglmError } from '../core/index.js';
import { anthropicErrorBody, anthropicStatusOf, isAnthropicPath } from './dialects/anthropic/index.js';

/**
 * How a wire dialect writes an error body. Most routes speak OpenAI's; a dialect with its own shape (Anthropic's
 * Messages) brings its own function, and its own status where it differs (`statusOf`), and `errorDialectOf` sends
 * its paths to it.
 */
export type ErrorDialect = ((error: AutoglmError) => string) & { statusOf?: (error: AutoglmError) => number };

export const openAIErrorBody: ErrorDialect = (error) => JSON.stringify(error.toJSON());

// Arrows, not the functions themselves: the dialect's room imports this module's importers, and is bound lazily.
const anthropicDialect: ErrorDialect = Object.assign((error: AutoglmError) => anthropicErrorBody(error), {
  statusOf: (error: AutoglmError) => anthropicStatusOf(error),
});

/** The dialect that answers errors on a path: the one place a dialect with its own error shape plugs in. */
export const errorDialectOf = (path: string | undefined): ErrorDialect => (isAnthropicPath(path) ? anthropicDialect : openAIErrorBody);

const clientError = (status: number, code: string, message: string) => new AutoglmError(status, 'invalid_request_error', code, message);

export const requestTooLarge = () => clientError(413, 'request_too_large', 'The request body is larger than this server accepts.');
export const unsupportedMediaType = () => clientError(415, 'unsupported_media_type', "Send the body as JSON with 'Content-Type: application/json'.");
export const invalidJson = (reason: string) => clientError(400, 'invalid_json', `The request body is not valid JSON: ${reason}`);
export const emptyBody = () => clientError(400, 'invalid_json', "The request body is empty; send a JSON object with 'Content-Type: application/json'.");
export const headersTimeout = (seconds: number) =>
  clientError(408, 'request_timeout', `The request's headers did not arrive within ${seconds} s; send the whole request at once.`);
export const bodyTimeout = (seconds: number) =>
  clientError(408, 'request_timeout', `The request body did not arrive within ${seconds} s of its headers; send the whole request at once.`);
export const headersTooLarge = (bytes: number) =>
  clientError(431, 'headers_too_large', `The request's headers are larger than this server accepts (${bytes} bytes in all).`);
export const malformedRequest = (reason: string) => clientError(400, 'malformed_request', `The request is not valid HTTP/1.1: ${reason}.`);
export const urlTooLong = () => clientError(414, 'url_too_long', 'A part of the request URL is longer than this server accepts.');
export const invalidUrl = () => clientError(400, 'invalid_url', 'The request URL is not valid: check its percent-encoding.');
export const modelLoading = () => new AutoglmError(503, 'server_error', 'model_loading', 'The model is still loading; retry shortly.', null, 2);
export const missingHost = () => clientError(400, 'missing_host', 'An HTTP/1.1 request needs a Host header.');
export const shuttingDown = () => new AutoglmError(503, 'server_error', 'shutting_down', 'The server is shutting down; retry on another instance.', null, 1);

export const unknownUrl = (method: string, path: string) =>
  clientError(404, 'unknown_url', `Unknown request URL: ${method} ${path.length > 200 ? `${path.slice(0, 200)}...` : path}.`);

export const methodNotAllowed = (method: string, path: string, allowed: readonly string[]) =>
  clientError(
    405,
    'method_not_allowed',
    `${method} is not allowed on ${path.length > 200 ? `${path.slice(0, 200)}...` : path}; it answers ${allowed.join(', ')}.`,
  );

/** Fastify's own client errors (bad JSON, body too large, wrong content type, URL limits) in OpenAI's shape. */
export function fromFastifyError(err: FastifyError): AutoglmError {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return requestTooLarge();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedMediaType();
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return emptyBody();
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return clientError(400, 'invalid_content_length', 'The request body is not as long as its Content-Length says.');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return urlTooLong();
    case 'FST_ERR_BAD_URL':
      return invalidUrl();
  }
  const status = err.statusCode ?? 500;
  if (status === 413) return requestTooLarge();
  if (status === 415) return unsupportedMediaType();
  if (status >= 400 && status < 500) {
    // The JSON parser's own errors (syntax, prototype poisoning) carry no code of fastify's.
    if (err instanceof SyntaxError || err.code?.includes('JSON')) return invalidJson(err.message);
    return clientError(status, 'invalid_request', err.message);
  }
  return new AutoglmError(500, 'server_error', 'internal_error', 'The server had an error while processing your request.');
}

/** The headers an error response carries: what the layers reported (rate limits, replica) and Retry-After. */
export function errorHeaders(error: AutoglmError, reported: Record<string, string> | undefined): Record<string, string> {
  const headers = reported ? { ...reported } : {};
  if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
  return headers;
}

/**
 * Writes an error on a raw response, unless the headers are already out (a stream ends with an error event instead).
 * `close` ends the connection after it: the rest of the request is not worth reading.
 */
export function sendError(res: ServerResponse, error: AutoglmError, reported?: Record<string, string>, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const dialect = errorDialectOf(res.req?.url);
  const body = dialect(error);
  const headers: Record<string, string | number> = {
    ...errorHeaders(error, reported),
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  };
  if (close) headers.connection = 'close';
  res.writeHead(dialect.statusOf?.(error) ?? error.status, headers);
  res.end(body);
}

/**
 * The path of a request that could not be read, from the start of its raw bytes (node's `rawPacket`), so that an
 * unreadable request to a dialect's route is answered in that dialect's shape. Undefined when no request line is seen.
 */
export function pathOfRawRequest(raw: unknown): string | undefined {
  if (!Buffer.isBuffer(raw)) return undefined;
  const line = /^[A-Z]{3,10} (\/[^ \r\n]*)/.exec(raw.subarray(0, 2048).toString('latin1'));
  return line?.[1];
}

/**
 * A whole HTTP/1.1 error response, for a socket whose request never became one; the connection closes after it.
 * `path`, when the request line could be read, picks the dialect of the error body.
 */
export function rawErrorResponse(error: AutoglmError, headers: Record<string, string> = {}, path?: string): string {
  const body = errorDialectOf(path)(error);
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`
  );
}
