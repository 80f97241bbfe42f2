// Anthropic's Messages routes over raw HTTP, through the gateway to sim replicas: the stream's exact event order,
// and every error status in Anthropic's shape, {"type":"error","error":{"type","message"}}, whoever made it
// (the endpoint, auth, limits, the engines, fastify, or the socket layer).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, serveSim, type GatewayServer, type SimServer } from '../../src/server/index.js';
import { rawRequest } from '../support/raw-http.js';

const BODY_LIMIT = 64 * 1024;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The answer is `status` with Anthropic's error body (exactly its fields) of error type `type`. */
function assertAnthropicError(answer: Answer, status: number, type: string): string {
  const what = `${answer.status} ${answer.body.slice(0, 300)}`;
  assert.equal(answer.status, status, what);
  assert.match(String(answer.headers['content-type']), /^application\/json/, what);
  const json = JSON.parse(answer.body) as { type: string; error: { type: string; message: string } };
  assert.deepEqual(Object.keys(json).sort(), ['error', 'type'], what);
  assert.equal(json.type, 'error', what);
  assert.deepEqual(Object.keys(json.error).sort(), ['message', 'type'], what);
  assert.equal(json.error.type, type, what);
  assert.ok(json.error.message.length > 10, `a message that says something: ${what}`);
  return json.error.message;
}

/** The SSE events of a stream, in order: their names, and their data parsed. */
function eventsOf(body: string): { event: string; data: Record<string, unknown> }[] {
  return body
    .trim()
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? '';
      const data = JSON.parse(lines.find((l) => l.startsWith('data: '))?.slice(6) ?? 'null') as Record<string, unknown>;
      return { event, data };
    });
}

describe('Anthropic Messages over raw HTTP', () => {
  let gateway: GatewayServer;
  let port: number;
  let key: string;
  let adminOnly: string;
  let tight: string;

  before(async () => {
    const yaml = [
      'auth: { enabled: true }',
      'tenants:',
      '  acme: {}',
      '  tight: { limits: { requestsPerMinute: 1 } }',
      'models:',
      '  agent:',
      '    replicas: [{ type: sim, preset: instant, outputTokens: 6, seed: 3 }]',
      '  broken:',
      '    retry: { attempts: 1 }',
      '    replicas: [{ type: sim, preset: instant, faults: { errorRate: 1, errorStatus: 500 } }]',
      '  busy:',
      '    retry: { attempts: 1 }',
      '    replicas: [{ type: sim, preset: instant, itlMs: 50, outputTokens: 2000, maxRunning: 1, maxQueue: 0 }]',
    ].join('\n');
    gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0, bodyLimitBytes: BODY_LIMIT } });
    port = Number(new URL(gateway.url).port);
    key = gateway.tenancy.store.createKey({ tenant: 'acme', scopes: ['inference'] }).key;
    adminOnly = gateway.tenancy.store.createKey({ tenant: 'acme', scopes: ['admin'] }).key;
    tight = gateway.tenancy.store.createKey({ tenant: 'tight', scopes: ['inference'] }).key;
  });
  after(() => gateway?.close());

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await request(`${gateway.url}${path}`, {
      method: method as 'POST',
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json', ...headers },
    });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  }
  const ask = (extra: Record<string, unknown> = {}) => ({ model: 'agent', max_tokens: 16, messages: [{ role: 'user', content: 'Hello' }], ...extra });

  it('a text stream: message_start, block start, one ping, deltas, block stop, message_delta, message_stop', async () => {
    const answer = await call('POST', '/v1/messages', ask({ stream: true }));
    assert.equal(answer.status, 200, answer.body);
    assert.match(String(answer.headers['content-type']), /^text\/event-stream/);
    const events = eventsOf(answer.body);
    assert.deepEqual(
      events.map((e) => e.event),
      ['message_start', 'content_block_start', 'ping', ...Array(6).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop'],
    );
    for (const e of events) assert.equal(e.data.type, e.event, 'each data names its event');
    assert.ok(!answer.body.includes('[DONE]'), "no OpenAI's [DONE]");
    const delta = events.at(-2)!.data as { delta: { stop_reason: string }; usage: { output_tokens: number } };
    assert.equal(delta.delta.stop_reason, 'end_turn');
    assert.equal(delta.usage.output_tokens, 6);
  });

  it('a tool use stream: its tool_use block, input_json_delta pieces that make its input, stop_reason tool_use', async () => {
    const tools = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
    const answer = await call('POST', '/v1/messages', ask({ stream: true, tools, tool_choice: { type: 'any' } }));
    const events = eventsOf(answer.body);
    const names = events.map((e) => e.event);
    assert.deepEqual(names.slice(0, 3), ['message_start', 'content_block_start', 'ping']);
    assert.deepEqual(names.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
    const start = events[1]!.data as { index: number; content_block: { type: string; id: string; name: string; input: object } };
    assert.equal(start.content_block.type, 'tool_use');
    assert.match(start.content_block.id, /^toolu_/);
    assert.deepEqual(start.content_block.input, {});
    const json = events
      .filter((e) => e.event === 'content_block_delta')
      .map((e) => (e.data.delta as { type: string; partial_json: string }).partial_json)
      .join('');
    assert.deepEqual(JSON.parse(json), { city: 'sim' });
    assert.equal((events.at(-2)!.data.delta as { stop_reason: string }).stop_reason, 'tool_use');
  });

  it('400 invalid_request_error, naming the field: missing max_tokens, unknown fields, unsupported blocks', async () => {
    const { max_tokens: _, ...noMax } = ask();
    assert.match(assertAnthropicError(await call('POST', '/v1/messages', noMax), 400, 'invalid_request_error'), /^max_tokens: /);
    assert.match(assertAnthropicError(await call('POST', '/v1/messages', ask({ thinking: { type: 'enabled' } })), 400, 'invalid_request_error'), /thinking/);
    const doc = ask({ messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] });
    assert.match(assertAnthropicError(await call('POST', '/v1/messages', doc), 400, 'invalid_request_error'), /messages\.0\.content\.0\.type: "document"/);
    const server = ask({ tools: [{ type: 'web_search_20250305', name: 'web_search' }] });
    assert.match(assertAnthropicError(await call('POST', '/v1/messages', server), 400, 'invalid_request_error'), /tools\.0/);
    const prefill = ask({
      messages: [
        { role: 'user', content: 'Answer in JSON' },
        { role: 'assistant', content: '{' },
      ],
    });
    assert.match(assertAnthropicError(await call('POST', '/v1/messages', prefill), 400, 'invalid_request_error'), /^messages\.1: .*prefill/);
    assertAnthropicError(await call('POST', '/v1/messages', '{"model": ', {}), 400, 'invalid_request_error');
    assertAnthropicError(await call('POST', '/v1/messages/count_tokens', { model: 'agent' }), 400, 'invalid_request_error');
  });

  it('401 authentication_error without a valid key, by x-api-key or Bearer; 403 permission_error without the scope', async () => {
    assertAnthropicError(await call('POST', '/v1/messages', ask(), { 'x-api-key': 'sk-wrong' }), 401, 'authentication_error');
    assertAnthropicError(await call('POST', '/v1/messages/count_tokens', ask(), { 'x-api-key': 'sk-wrong' }), 401, 'authentication_error');
    const bearer = await call('POST', '/v1/messages', ask(), { 'x-api-key': '', authorization: `Bearer ${key}` });
    assert.equal(bearer.status, 200, bearer.body);
    assertAnthropicError(await call('POST', '/v1/messages', ask(), { 'x-api-key': adminOnly }), 403, 'permission_error');
  });

  it('404 not_found_error: a model not served (naming those that are), and an unknown path under /v1/messages', async () => {
    assert.match(assertAnthropicError(await call('POST', '/v1/messages', ask({ model: 'claude-opus-4' })), 404, 'not_found_error'), /agent/);
    const count = { model: 'claude-opus-4', messages: [{ role: 'user', content: 'Hello' }] };
    assertAnthropicError(await call('POST', '/v1/messages/count_tokens', count), 404, 'not_found_error');
    assertAnthropicError(await call('POST', '/v1/messages/batches', ask()), 404, 'not_found_error');
  });

  it('405 with Allow for another method, 413 past the body limit, 415 for a body that is not JSON', async () => {
    const get = await call('GET', '/v1/messages');
    assertAnthropicError(get, 405, 'invalid_request_error');
    assert.equal(get.headers.allow, 'POST');
    assertAnthropicError(await call('GET', '/v1/messages/count_tokens'), 405, 'invalid_request_error');
    const huge = ask({ messages: [{ role: 'user', content: 'x'.repeat(BODY_LIMIT * 2) }] });
    assertAnthropicError(await call('POST', '/v1/messages', huge), 413, 'request_too_large');
    assertAnthropicError(await call('POST', '/v1/messages/count_tokens', huge), 413, 'request_too_large');
    assertAnthropicError(await call('POST', '/v1/messages', '<x/>', { 'content-type': 'application/xml' }), 415, 'invalid_request_error');
  });

  it('429 rate_limit_error with retry-after when a limit refuses', async () => {
    assert.equal((await call('POST', '/v1/messages', ask(), { 'x-api-key': tight })).status, 200);
    const refused = await call('POST', '/v1/messages', ask(), { 'x-api-key': tight });
    assertAnthropicError(refused, 429, 'rate_limit_error');
    assert.ok(Number(refused.headers['retry-after']) > 0, `retry-after ${refused.headers['retry-after']}`);
  });

  it('500 api_error from a failing engine; 529 overloaded_error with retry-after when the engine is at capacity', async () => {
    assertAnthropicError(await call('POST', '/v1/messages', ask({ model: 'broken' })), 500, 'api_error');
    // One stream holds the only slot; the next request finds no room and no queue.
    const holder = new AbortController();
    const held = await request(`${gateway.url}/v1/messages`, {
      method: 'POST',
      signal: holder.signal,
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify(ask({ model: 'busy', max_tokens: 2000, stream: true })),
    });
    try {
      assert.equal(held.statusCode, 200);
      const refused = await call('POST', '/v1/messages', ask({ model: 'busy' }));
      assertAnthropicError(refused, 529, 'overloaded_error');
      assert.ok(Number(refused.headers['retry-after']) > 0, 'retry-after');
    } finally {
      holder.abort();
      await held.body.text().catch(() => undefined);
    }
  });

  it('431 and malformed requests to these paths, answered by the socket layer, are in the same shape', async () => {
    const big = await rawRequest(port, `POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(32 * 1024)}\r\n\r\n`);
    assertAnthropicError(big, 431, 'invalid_request_error');
    const bad = await rawRequest(port, 'POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n');
    assertAnthropicError(bad, 400, 'invalid_request_error');
    // Other paths keep OpenAI's shape.
    const other = await rawRequest(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(32 * 1024)}\r\n\r\n`);
    assert.ok('error' in JSON.parse(other.body) && !('type' in JSON.parse(other.body)), other.body);
  });
});

describe('Anthropic Messages: a stream whose upstream dies mid-answer', () => {
  let upstream: SimServer;
  let gateway: GatewayServer;
  before(async () => {
    // Every stream of this upstream is cut halfway, after the gateway has sent its first events.
    upstream = await serveSim({ model: 'flaky', preset: 'instant', itlMs: 20, outputTokens: 40, faults: { dropRate: 1 } }, { port: 0 });
    const yaml = ['models:', '  flaky:', '    retry: { attempts: 1 }', `    replicas: [{ type: openai, preset: autoglm, baseUrl: "${upstream.url}/v1" }]`].join(
      '\n',
    );
    gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0 } });
  });
  after(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it("ends with an error event in Anthropic's shape after the events already sent, and no message_stop", async () => {
    const res = await request(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'flaky', max_tokens: 40, stream: true, messages: [{ role: 'user', content: 'Hello' }] }),
    });
    assert.equal(res.statusCode, 200);
    const events = eventsOf(await res.body.text());
    const names = events.map((e) => e.event);
    assert.deepEqual(names.slice(0, 4), ['message_start', 'content_block_start', 'ping', 'content_block_delta'], names.join(' '));
    assert.equal(names.at(-1), 'error', names.join(' '));
    assert.ok(!names.includes('message_stop'), names.join(' '));
    const error = events.at(-1)!.data as { type: string; error: { type: string; message: string } };
    assert.equal(error.type, 'error');
    assert.equal(error.error.type, 'api_error');
    assert.match(error.error.message, /flaky|upstream|Upstream/);
  });

  it("the SDK's messages.stream rejects finalMessage() with the error event's APIError", async () => {
    const client = new Anthropic({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
    const stream = client.messages.stream({ model: 'flaky', max_tokens: 40, messages: [{ role: 'user', content: 'Hello' }] });
    await assert.rejects(stream.finalMessage(), (err: unknown) => {
      assert.ok(err instanceof Anthropic.APIError, `APIError, got ${String(err)}`);
      assert.equal((err.error as { error: { type: string } }).error.type, 'api_error');
      return true;
    });
  });
});
