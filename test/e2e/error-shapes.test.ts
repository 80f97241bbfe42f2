// Every answer that is not a success is in OpenAI's error shape, on every route: fastify's own errors (unknown route,
// wrong method, URL limits, body parsing), the node:http inference routes, and requests too broken to reach either.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { RunningServer } from '../../src/server/index.js';
import { rawRequest } from '../support/raw-http.js';
import { startServer } from '../support/server.js';

const BODY_LIMIT = 64 * 1024;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The answer is `status` with OpenAI's error body (exactly its four fields) and, when given, that code. */
function assertOpenAIError(answer: Answer, status: number, code?: string): void {
  const what = `${answer.status} ${answer.body.slice(0, 300)}`;
  assert.equal(answer.status, status, what);
  assert.match(String(answer.headers['content-type']), /^application\/json/, what);
  const json = JSON.parse(answer.body) as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(json).sort(), ['error'], what);
  assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type'], what);
  assert.equal(typeof json.error.message, 'string', what);
  assert.ok((json.error.message as string).length > 10, `a message that says something: ${what}`);
  assert.ok(['invalid_request_error', 'server_error', 'not_found_error'].includes(json.error.type as string), what);
  if (code) assert.equal(json.error.code, code, what);
}

describe('error shapes', () => {
  let server: RunningServer;
  let port: number;
  before(async () => {
    server = await startServer({ parallel: 1 }, { server: { bodyLimitBytes: BODY_LIMIT } });
    port = Number(new URL(server.url).port);
  });
  after(() => server.close());

  async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await request(`${server.url}${path}`, { method: method as 'GET', body, headers });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  }

  it('an unknown route is 404 unknown_url, with a request id', async () => {
    const answer = await call('GET', '/v1/nothing-here');
    assertOpenAIError(answer, 404, 'unknown_url');
    assert.match(String(answer.headers['x-request-id']), /^req_/);
  });

  it('a known path asked with the wrong method is 405 with Allow, on fastify and node:http routes alike', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/v1/chat/completions', 'POST'],
      ['PUT', '/v1/completions', 'POST'],
      ['DELETE', '/v1/models', 'GET, HEAD'],
      ['POST', '/v1/models/stories260K', 'GET, HEAD'],
      ['POST', '/health', 'GET, HEAD'],
      ['GET', '/infer', 'POST'],
      ['GET', '/admin/keys/some-id', 'DELETE'],
    ];
    for (const [method, path, allow] of cases) {
      const answer = await call(method, path);
      assertOpenAIError(answer, 405, 'method_not_allowed');
      assert.equal(answer.headers.allow, allow, `${method} ${path}`);
    }
  });

  it('a plain GET of the WebSocket route is 426, and a missing dashboard file 404', async () => {
    const ws = await call('GET', '/v1/ws');
    assertOpenAIError(ws, 426, 'upgrade_required');
    assert.equal(ws.headers.upgrade, 'websocket');
    assertOpenAIError(await call('GET', '/ui/no-such-file.js'), 404);
  });

  it('a body past the limit is 413 on both kinds of route', async () => {
    const huge = JSON.stringify({ prompt: 'x'.repeat(BODY_LIMIT * 2) });
    for (const path of ['/infer', '/v1/completions']) {
      assertOpenAIError(await call('POST', path, huge, { 'content-type': 'application/json' }), 413, 'request_too_large');
    }
  });

  it("a path parameter of 4,000 characters is 414, not fastify's own body", async () => {
    assertOpenAIError(await call('GET', `/v1/models/${'m'.repeat(4000)}`), 414, 'url_too_long');
  });

  it('a URL with broken percent-encoding is 400 invalid_url', async () => {
    assertOpenAIError(await call('GET', '/v1/models/%E0%A4%A'), 400, 'invalid_url');
  });

  it('a body that is not JSON is 415 on both kinds of route', async () => {
    for (const path of ['/infer', '/v1/chat/completions']) {
      assertOpenAIError(await call('POST', path, '<prompt/>', { 'content-type': 'application/xml' }), 415, 'unsupported_media_type');
    }
  });

  it("the JSON parser's refusals are 400 invalid_json: empty, malformed, prototype poisoning", async () => {
    const json = { 'content-type': 'application/json' };
    for (const path of ['/infer', '/v1/completions']) {
      assertOpenAIError(await call('POST', path, '', json), 400, 'invalid_json');
      assertOpenAIError(await call('POST', path, '{"prompt": ', json), 400, 'invalid_json');
    }
    assertOpenAIError(await call('POST', '/infer', '{"prompt": "x", "__proto__": {"polluted": true}}', json), 400, 'invalid_json');
  });

  it('bad parameters on fastify routes are 400 naming the parameter', async () => {
    const answer = await call('GET', '/admin/usage?format=xml');
    assertOpenAIError(answer, 400);
    assert.equal((JSON.parse(answer.body) as { error: { param: string } }).error.param, 'format');
    assertOpenAIError(await call('POST', '/infer', JSON.stringify({ prompt: 7 }), { 'content-type': 'application/json' }), 400);
  });

  it('HEAD of an unknown route is 404 without a body', async () => {
    const res = await request(`${server.url}/v1/nothing-here`, { method: 'HEAD' });
    assert.equal(res.statusCode, 404);
    assert.equal(await res.body.text(), '');
  });

  it('headers past the size limit are 431, and the connection closes', async () => {
    const answer = await rawRequest(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(32 * 1024)}\r\n\r\n`);
    assertOpenAIError(answer, 431, 'headers_too_large');
    assert.ok(answer.closed, 'closed');
  });

  it('bytes that are not HTTP are 400 malformed_request, and the connection closes', async () => {
    for (const bytes of [
      'HELLO THERE\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n',
      'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
    ]) {
      const answer = await rawRequest(port, bytes);
      assertOpenAIError(answer, 400, 'malformed_request');
      assert.ok(answer.closed, 'closed');
    }
  });

  it('an HTTP/1.1 request without Host is 400 missing_host', async () => {
    const answer = await rawRequest(port, 'GET /health HTTP/1.1\r\n\r\n');
    assertOpenAIError(answer, 400, 'missing_host');
  });

  it('a WebSocket handshake that ws refuses is 400 in the same shape', async () => {
    const handshake = (headers: string) => `GET /v1/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n${headers}\r\n`;
    const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    for (const headers of [
      'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n',
      `Upgrade: websocket\r\n${key}Sec-WebSocket-Version: 99\r\n`,
      `Upgrade: h2c\r\n${key}Sec-WebSocket-Version: 13\r\n`,
    ]) {
      const answer = await rawRequest(port, handshake(headers));
      assertOpenAIError(answer, 400, 'invalid_websocket_handshake');
      if (headers.includes('99')) assert.equal(answer.headers['sec-websocket-version'], '13, 8');
    }
  });

  it('the server still serves a normal request afterwards', async () => {
    const answer = await call('POST', '/v1/completions', JSON.stringify({ model: 'stories260K', prompt: 'Once', max_tokens: 4 }), {
      'content-type': 'application/json',
    });
    assert.equal(answer.status, 200, answer.body);
  });
});
