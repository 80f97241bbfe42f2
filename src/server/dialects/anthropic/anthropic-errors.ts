// Errors in Anthropic's shape, {"type":"error","error":{"type","message"}}, with Anthropic's status for each kind.
import type { AutoglmError } from '../../../core/index.js';

export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'timeout_error'
  | 'api_error'
  | 'overloaded_error';

/**
 * Out of capacity, not out of quota: Anthropic answers these 529 overloaded_error (its SDK retries them). A queue
 * that is full is answered 429 in OpenAI's dialect; here it is not the caller's rate that is too high.
 */
const CAPACITY = new Set(['server_overloaded', 'no_replica_available', 'models_busy']);

/** The status an error goes out with on Anthropic's routes. */
export const anthropicStatusOf = (error: AutoglmError): number => (CAPACITY.has(error.code) ? 529 : error.status);

/**
 * Anthropic's error type for an error. A model still loading is overloaded_error (503, retried after Retry-After);
 * a server shutting down or starting is api_error (503): the caller should go to another instance.
 */
export function anthropicErrorType(error: AutoglmError): AnthropicErrorType {
  const status = anthropicStatusOf(error);
  if (status === 529 || error.code === 'model_loading') return 'overloaded_error';
  switch (status) {
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 408:
    case 504:
      return 'timeout_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
  }
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}

/** The error's JSON body as Anthropic writes it. */
export const anthropicErrorBody = (error: AutoglmError): string =>
  `{"type":"error","error":{"type":"${anthropicErrorType(error)}","message":${JSON.stringify(error.message)}}}`;

/** The SSE event for an error after the stream's headers went out. */
export const anthropicErrorEvent = (error: AutoglmError): string => `event: error\ndata: ${anthropicErrorBody(error)}\n\n`;

/** Whether Anthropic's dialect answers errors on this path (with or without a query): /v1/messages and below it. */
export function isAnthropicPath(path: string | undefined): boolean {
  if (!path?.startsWith('/v1/messages')) return false;
  const next = path.charCodeAt(12);
  // End of path, '/' or '?': not /v1/messagesX.
  return Number.isNaN(next) || next === 47 || next === 63;
}
