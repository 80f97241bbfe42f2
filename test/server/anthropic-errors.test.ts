// Which status and error type each of our errors has on Anthropic's routes, and which paths speak that dialect.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutoglmError, modelNotFound, overloaded } from '../../src/core/index.js';
import { anthropicErrorBody, anthropicStatusOf, isAnthropicPath } from '../../src/server/dialects/anthropic/index.js';
import { errorDialectOf, modelLoading, shuttingDown } from '../../src/server/http-errors.js';

const wire = (e: AutoglmError) => [anthropicStatusOf(e), (JSON.parse(anthropicErrorBody(e)) as { error: { type: string } }).error.type];

describe("errors on Anthropic's routes", () => {
  it('maps each kind of error to the status and type Anthropic uses for it', () => {
    const table: [AutoglmError, number, string][] = [
      [new AutoglmError(400, 'invalid_request_error', 'invalid_value', 'bad'), 400, 'invalid_request_error'],
      [new AutoglmError(401, 'authentication_error', 'invalid_api_key', 'no'), 401, 'authentication_error'],
      [new AutoglmError(403, 'permission_error', 'insufficient_scope', 'no'), 403, 'permission_error'],
      [modelNotFound('x', ['glm-4']), 404, 'not_found_error'],
      [new AutoglmError(413, 'invalid_request_error', 'request_too_large', 'big'), 413, 'request_too_large'],
      [new AutoglmError(429, 'rate_limit_error', 'rate_limit_exceeded', 'slow down'), 429, 'rate_limit_error'],
      [new AutoglmError(500, 'server_error', 'internal_error', 'oops'), 500, 'api_error'],
      [new AutoglmError(502, 'server_error', 'upstream_error', 'up'), 502, 'api_error'],
      [new AutoglmError(504, 'timeout_error', 'upstream_timeout', 'late'), 504, 'timeout_error'],
      // Out of capacity is overloaded (529), which Anthropic's SDK retries, not the caller's rate limit.
      [overloaded('full', 1), 529, 'overloaded_error'],
      [new AutoglmError(503, 'server_error', 'no_replica_available', 'none'), 529, 'overloaded_error'],
      [new AutoglmError(503, 'server_error', 'models_busy', 'busy'), 529, 'overloaded_error'],
      // A model still loading is overloaded for a moment; a server going away is an API error: go elsewhere.
      [modelLoading(), 503, 'overloaded_error'],
      [shuttingDown(), 503, 'api_error'],
    ];
    for (const [error, status, type] of table) assert.deepEqual(wire(error), [status, type], error.code);
  });

  it('speaks for /v1/messages and what is under it, and for nothing else', () => {
    for (const path of ['/v1/messages', '/v1/messages?beta=true', '/v1/messages/count_tokens', '/v1/messages/batches/x']) {
      assert.ok(isAnthropicPath(path), path);
      assert.notEqual(errorDialectOf(path), errorDialectOf('/v1/chat/completions'), path);
    }
    for (const path of ['/v1/messagesX', '/v1/chat/completions', '/v1/message', undefined]) assert.ok(!isAnthropicPath(path), String(path));
  });
});
