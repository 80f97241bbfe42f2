// Garbage in: each bad request gets a clear 4xx in OpenAI's shape, and the server keeps serving everyone else.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { RunningServer } from '../../src/server/index.js';
import { startServer } from '../support/server.js';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

describe('bad input', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ parallel: 1, maxQueue: 0 });
  });
  after(() => server.close());

  async function post(path: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) {
    const res = await request(`${server.url}${path}`, { method: 'POST', body, headers });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, json: JSON.parse(text) as ErrorBody };
  }

  const chat = (over: Record<string, unknown>) => JSON.stringify({ model: 'stories260K', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, ...over });

  function assertOpenAIError(json: ErrorBody) {
    assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type']);
    assert.ok(json.error.message.length > 10, 'json.error.message.length > 10');
  }

  it('malformed JSON is 400 invalid_json', async () => {
    const res = await post('/v1/chat/completions', '{"model": "stories260K", "messages": [');
    assert.equal(res.status, 400);
    assertOpenAIError(res.json);
    assert.equal(res.json.error.code, 'invalid_json');
  });

  it('wrong types are 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ max_tokens: 'ten' }, 'max_tokens'],
      [{ messages: 'hello' }, 'messages'],
      [{ messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
      [{ stream: 'yes' }, 'stream'],
      [{ stop: [1, 2] }, 'stop'],
      [{ model: 5 }, 'model'],
      [{ messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
      [{ messages: [{ role: 'user', content: [{ type: 'text', text: 7 }] }] }, 'messages[0].content[0].text'],
    ];
    for (const [over, param] of cases) {
      const res = await post('/v1/chat/completions', chat(over));
      assert.equal(res.status, 400, JSON.stringify(over));
      assertOpenAIError(res.json);
      assert.ok(res.json.error.param?.startsWith(param), `${JSON.stringify(over)} -> ${res.json.error.param}`);
      assert.match(res.json.error.message, new RegExp(param.replace(/[[\]]/g, '\\$&')));
      // A value of the wrong type is not a missing one, and a union says which types it takes.
      assert.doesNotMatch(res.json.error.message, /is required|Invalid input$/, res.json.error.message);
    }
  });

  it('a json_schema that is not a valid JSON Schema is 400 naming response_format, before any generation', async () => {
    const schema = { type: 'object', properties: { age: { type: 'integer', minimum: 'zero' } }, required: ['age'] };
    const res = await post('/v1/chat/completions', chat({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } }));
    assert.equal(res.status, 400);
    assertOpenAIError(res.json);
    assert.equal(res.json.error.param, 'response_format.json_schema.schema');
    assert.match(res.json.error.message, /minimum must be number/);
  });

  it('a json_schema nested too deeply to check is 400, not a server error', async () => {
    // Written as text: a 20k-deep object is deeper than JSON.stringify can go.
    const deep = (n: number) => `${'{"type":"object","properties":{"a":'.repeat(n)}{"type":"string"}${'}}'.repeat(n)}`;
    for (const depth of [1_000, 20_000]) {
      const body = chat({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: 'SCHEMA' } } }).replace('"SCHEMA"', deep(depth));
      const res = await post('/v1/chat/completions', body);
      assert.equal(res.status, 400, `${depth} deep: ${res.json.error.message}`);
      assert.equal(res.json.error.param, 'response_format.json_schema.schema');
    }
  });

  it('a missing required field is named', async () => {
    const res = await post('/v1/chat/completions', JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(res.status, 400);
    assert.equal(res.json.error.param, 'model');
    assert.match(res.json.error.message, /'model' is required/);
  });

  it('negative max_tokens is 400', async () => {
    const res = await post('/v1/completions', JSON.stringify({ model: 'stories260K', prompt: 'x', max_tokens: -5 }));
    assert.equal(res.status, 400);
    assert.equal(res.json.error.param, 'max_tokens');
  });

  it('an unknown model is 404 model_not_found', async () => {
    const res = await post('/v1/chat/completions', chat({ model: 'gpt-7' }));
    assert.equal(res.status, 404);
    assert.equal(res.json.error.code, 'model_not_found');
    assert.match(res.json.error.message, /stories260K/);
  });

  it('a 10 MB body is 413', async () => {
    const huge = chat({ messages: [{ role: 'user', content: 'x'.repeat(10 * 1024 * 1024) }] });
    const res = await post('/v1/chat/completions', huge);
    assert.equal(res.status, 413);
    assert.equal(res.json.error.code, 'request_too_large');
  });

  it('a body that is not JSON at all, or not an object, is 4xx', async () => {
    const text = await post('/v1/chat/completions', 'hello', { 'content-type': 'text/plain' });
    assert.equal(text.status, 400);
    assert.match(text.json.error.message, /JSON object/);
    const array = await post('/v1/chat/completions', '[1,2,3]');
    assert.equal(array.status, 400);
    assertOpenAIError(array.json);
  });

  it('an unknown route is 404 in the same shape, and every response has x-request-id', async () => {
    const res = await request(`${server.url}/v1/nothing-here`);
    assert.equal(res.statusCode, 404);
    assertOpenAIError((await res.body.json()) as ErrorBody);
    assert.match(String(res.headers['x-request-id']), /^req_/);
    const given = await request(`${server.url}/health`, { headers: { 'x-request-id': 'trace-123' } });
    await given.body.dump();
    assert.equal(given.headers['x-request-id'], 'trace-123');
  });

  it('a client that vanishes mid-stream frees its sequence at once for the next client', async () => {
    // parallel 1, queue 0: if the vanished stream still held the sequence, the next request would get 429.
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
    const body = JSON.stringify({ model: 'stories260K', prompt: 'Once', max_tokens: 1800, ignore_eos: true, stream: true });
    socket.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.destroy();
    let busy = 1;
    for (let i = 0; i < 100 && busy > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const metrics = await (await request(`${server.url}/metrics`)).body.text();
      busy = Number(/^autoglm_busy_sequences\{[^}]*\} (\d+)/m.exec(metrics)?.[1]);
    }
    assert.equal(busy, 0, 'the sequence was released');
    const next = await request(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', prompt: 'Once', max_tokens: 4 }),
    });
    assert.equal(next.statusCode, 200);
    const json = (await next.body.json()) as { usage: { completion_tokens: number } };
    assert.ok(json.usage.completion_tokens >= 1, 'json.usage.completion_tokens >= 1');
  });

  it('a client that sends half a body and stalls does not block others', async () => {
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.write('POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":');
    const res = await request(`${server.url}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'The cat', max_tokens: 4 }),
    });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    socket.destroy();
  });
});
