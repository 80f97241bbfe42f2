// One error type for the whole stack, rendered once in OpenAI's error shape.

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'insufficient_quota'
  | 'server_error'
  | 'timeout_error';

export interface OpenAIErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

export class AutoglmError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    /** Seconds after which the caller may try again (sent as Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'AutoglmError';
  }

  /** Whether the same request may succeed if sent again later or elsewhere. */
  get retryable(): boolean {
    return this.status === 429 || this.status >= 500;
  }

  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A model that cannot be used (missing, corrupt, unreachable); the message is one line a CLI prints as it is. */
export class ModelUnavailableError extends Error {
  override name = 'ModelUnavailableError';
}

/** An error after which the response must end by cutting the connection, as a crashing upstream would (fault injection). */
export const CONNECTION_DROPPED = 'connection_dropped';

export const invalidRequest = (message: string, param: string | null = null, code = 'invalid_value') =>
  new AutoglmError(400, 'invalid_request_error', code, message, param);

/** For engines that cannot call tools: the request is refused rather than answered as if no tools were offered. */
export const toolsUnsupported = (model: string) =>
  invalidRequest(
    `The model '${model}' cannot call tools. Send the request without 'tools', or to a model served by an engine that supports them (an OpenAI-compatible upstream).`,
    'tools',
    'tools_unsupported',
  );

/** For engines that cannot see: an image is refused rather than silently dropped from the conversation. */
export const imagesUnsupported = (model: string) =>
  invalidRequest(
    `The model '${model}' cannot read images. Send text only, or use a model served by an engine that reads them (an OpenAI-compatible upstream serving a vision model).`,
    'messages',
    'images_unsupported',
  );

export const modelNotFound = (model: string, available: readonly string[] = []) =>
  new AutoglmError(
    404,
    'invalid_request_error',
    'model_not_found',
    `The model '${model}' does not exist.${available.length ? ` Available: ${available.join(', ')}.` : ' GET /v1/models lists the models served here.'}`,
    'model',
  );

export const overloaded = (message: string, retryAfterSeconds: number) =>
  new AutoglmError(429, 'rate_limit_error', 'server_overloaded', message, null, retryAfterSeconds);

export const serverError = (message: string, code = 'internal_error') => new AutoglmError(500, 'server_error', code, message);

/** Turns anything thrown into an AutoglmError without leaking internals to the client. */
export function toAutoglmError(err: unknown): AutoglmError {
  if (err instanceof AutoglmError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return serverError(`The server failed to complete the request: ${message}`);
}
