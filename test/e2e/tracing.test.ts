// OpenTelemetry traces through the gateway: a request retried on a second replica exports one trace (request span,
// admission, cache lookup, both attempts) to a real OTLP/HTTP receiver, joins the caller's trace and hands it on to the
// upstream; with tracing off no tracing SDK is started and no traceparent goes upstream.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import pino from 'pino';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: OtlpValue }[];
  status?: { code?: number; message?: string };
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: { key: string; value: OtlpValue }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

const SPAN_KIND_SERVER = 2;
const STATUS_ERROR = 2;

function attr(span: OtlpSpan, key: string): string | number | boolean | undefined {
  const v = span.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.stringValue ?? v.doubleValue ?? v.boolValue;
}

/** A real OTLP/HTTP receiver: keeps every span and the service name it came with. */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; services: string[]; posts: () => number; server: Server }> {
  const spans: OtlpSpan[] = [];
  const services: string[] = [];
  let posts = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      posts++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
      for (const rs of body.resourceSpans) {
        const name = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
        if (name) services.push(name);
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, services, posts: () => posts, server };
}

/**
 * Two OpenAI-compatible upstreams sharing one counter: the first completion asked of either fails with 503, every
 * later one answers. So whichever replica the policy picks first fails and the retry goes to the other.
 */
async function startUpstreams(): Promise<{ urls: string[]; seen: { port: number; headers: IncomingHttpHeaders }[]; servers: Server[] }> {
  const seen: { port: number; headers: IncomingHttpHeaders }[] = [];
  let failures = 1;
  const servers: Server[] = [];
  for (let i = 0; i < 2; i++) {
    const server = createServer((req, res) => {
      const body: Buffer[] = [];
      req.on('data', (c: Buffer) => body.push(c));
      req.on('end', () => {
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'up', object: 'model' }] }));
          return;
        }
        seen.push({ port: (server.address() as AddressInfo).port, headers: req.headers });
        if (failures > 0) {
          failures--;
          res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } }));
          return;
        }
        const answer = {
          id: 'cmpl-1',
          object: 'chat.completion',
          created: 1,
          model: 'up',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Once upon a time' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 },
        };
        if ((JSON.parse(Buffer.concat(body).toString('utf8')) as { stream?: boolean }).stream) {
          // As vLLM streams: the text, the finish, the usage, then [DONE].
          const events = [
            {
              id: 'cmpl-1',
              object: 'chat.completion.chunk',
              created: 1,
              model: 'up',
              choices: [{ index: 0, delta: { role: 'assistant', content: 'Once upon a time' } }],
            },
            { id: 'cmpl-1', object: 'chat.completion.chunk', created: 1, model: 'up', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
            { id: 'cmpl-1', object: 'chat.completion.chunk', created: 1, model: 'up', choices: [], usage: answer.usage },
          ];
          res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')}data: [DONE]\n\n`);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
  }
  const urls = servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/v1`);
  return { urls, seen, servers };
}

function gatewayYaml(upstreams: string[], tracing: string[]): string {
  return [
    'cache: { enabled: true }',
    ...tracing,
    'models:',
    '  chat:',
    '    policy: round_robin',
    '    breaker: { failureThreshold: 5, openMs: 60000 }',
    '    retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 }',
    '    replicas:',
    ...upstreams.map((u, i) => `      - { type: openai, id: r${i}, preset: vllm, baseUrl: "${u}", upstreamModel: up }`),
    '  vectors:',
    '    replicas: [{ type: sim, id: v0, preset: instant }]',
  ].join('\n');
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

describe('tracing through the gateway', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let upstreams: Awaited<ReturnType<typeof startUpstreams>>;
  let gateway: GatewayServer;
  const savedEnv = process.env.AUTOGLM_TRACING;

  before(async () => {
    delete process.env.AUTOGLM_TRACING;
    receiver = await startReceiver();
    upstreams = await startUpstreams();
    const tracing = ['tracing:', '  enabled: true', `  endpoint: "${receiver.url}/v1/traces"`, '  serviceName: autoglm-under-test'];
    gateway = await serveGateway(parseGatewayConfig(gatewayYaml(upstreams.urls, tracing)), { serverOverrides: { port: 0 }, seed: 3 });
  });

  after(async () => {
    await gateway?.close();
    for (const s of upstreams?.servers ?? []) s.close();
    receiver?.server.close();
    if (savedEnv !== undefined) process.env.AUTOGLM_TRACING = savedEnv;
  });

  it("exports the request, its admission, its cache lookup and both attempts of a retried call, in the caller's trace", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 30_000 });
    const { data: res, response } = await client.chat.completions
      .create(
        { model: 'chat', messages: [{ role: 'user', content: 'tell me a story' }], max_tokens: 16, temperature: 0 },
        { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` } },
      )
      .withResponse();
    assert.equal(res.choices[0]?.message.content, 'Once upon a time');
    const requestId = response.headers.get('x-request-id');

    // The batch exporter sends within a second or so; a busy machine gets a generous limit.
    const requestSpan = await until('the request span', () => receiver.spans.find((s) => s.kind === SPAN_KIND_SERVER && s.traceId === TRACE_ID));
    const children = await until('four child spans', () => {
      const found = receiver.spans.filter((s) => s.parentSpanId === requestSpan.spanId);
      return found.length >= 4 ? found : undefined;
    });

    assert.equal(requestSpan.parentSpanId, CLIENT_SPAN, 'the request span is a child of the caller span');
    assert.equal(requestSpan.name, 'chat chat');
    assert.deepEqual(
      {
        operation: attr(requestSpan, 'gen_ai.operation.name'),
        requestModel: attr(requestSpan, 'gen_ai.request.model'),
        responseModel: attr(requestSpan, 'gen_ai.response.model'),
        input: attr(requestSpan, 'gen_ai.usage.input_tokens'),
        output: attr(requestSpan, 'gen_ai.usage.output_tokens'),
        maxTokens: attr(requestSpan, 'gen_ai.request.max_tokens'),
        temperature: attr(requestSpan, 'gen_ai.request.temperature'),
        route: attr(requestSpan, 'http.route'),
        status: attr(requestSpan, 'http.response.status_code'),
        requestId: attr(requestSpan, 'autoglm.request_id'),
        tenant: typeof attr(requestSpan, 'autoglm.tenant'),
      },
      {
        operation: 'chat',
        requestModel: 'chat',
        responseModel: 'chat',
        input: 7,
        output: 5,
        maxTokens: 16,
        temperature: 0,
        route: '/v1/chat/completions',
        status: 200,
        requestId,
        tenant: 'string',
      },
    );
    assert.ok(receiver.services.includes('autoglm-under-test'), 'spans carry the configured service name');

    const names = children.map((s) => s.name).sort();
    assert.deepEqual(names, ['cache.lookup', 'tenancy.admit', 'upstream.attempt', 'upstream.attempt']);
    for (const s of children) assert.equal(s.traceId, TRACE_ID, `${s.name} is in the caller's trace`);
    assert.equal(attr(children.find((s) => s.name === 'cache.lookup')!, 'autoglm.cache.hit'), false);

    const attempts = children
      .filter((s) => s.name === 'upstream.attempt')
      .sort((a, b) => Number(attr(a, 'autoglm.attempt')) - Number(attr(b, 'autoglm.attempt')));
    assert.deepEqual(
      attempts.map((s) => attr(s, 'autoglm.attempt')),
      [1, 2],
    );
    assert.equal(attempts[0]!.status?.code, STATUS_ERROR, 'the failed attempt is an error');
    assert.match(attempts[0]!.status?.message ?? '', /503/);
    assert.notEqual(attempts[1]!.status?.code, STATUS_ERROR, 'the retry succeeded');
    assert.notEqual(attr(attempts[0]!, 'autoglm.replica'), attr(attempts[1]!, 'autoglm.replica'), 'the retry went to the other replica');

    // Each upstream request carried the trace on, its parent the attempt that sent it.
    assert.equal(upstreams.seen.length, 2);
    const parents = upstreams.seen.map((u) => {
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(u.headers.traceparent));
      assert.ok(m, `a traceparent went upstream: ${u.headers.traceparent}`);
      assert.equal(m[1], TRACE_ID);
      return m[2];
    });
    assert.deepEqual(
      parents,
      attempts.map((s) => s.spanId),
    );
  });

  it('puts each call of a reasoning strategy in its own span, its upstream attempt inside it', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 30_000 });
    const traceId = 'a'.repeat(32);
    const body = { model: 'chat', messages: [{ role: 'user' as const, content: 'what is 2 + 2?' }], max_tokens: 16, reasoning: { strategy: 'sc', samples: 2 } };
    await client.chat.completions.create(body, { headers: { traceparent: `00-${traceId}-${'b'.repeat(16)}-01` } });

    const requestSpan = await until('the request span', () => receiver.spans.find((s) => s.kind === SPAN_KIND_SERVER && s.traceId === traceId));
    const calls = await until('two reasoning calls', () => {
      const found = receiver.spans.filter((s) => s.name === 'reasoning.call' && s.parentSpanId === requestSpan.spanId);
      return found.length >= 2 ? found : undefined;
    });
    assert.equal(calls.length, 2);
    for (const call of calls) {
      const attempt = await until('an attempt inside the call', () =>
        receiver.spans.find((s) => s.name === 'upstream.attempt' && s.parentSpanId === call.spanId),
      );
      assert.equal(attempt.traceId, traceId);
      assert.equal(attr(call, 'gen_ai.usage.output_tokens'), 5);
    }
    assert.equal(attr(requestSpan, 'gen_ai.usage.output_tokens'), 10, 'the request counts both calls');
  });

  it("starts a fresh trace when the caller's traceparent is malformed, and answers as usual", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 30_000 });
    const requestId = 'malformed-traceparent-1';
    const res = await client.chat.completions.create(
      { model: 'chat', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16 },
      { headers: { traceparent: '00-not-a-trace-id-01', 'x-request-id': requestId } },
    );
    assert.equal(res.choices[0]?.message.content, 'Once upon a time');
    const requestSpan = await until('the request span', () => receiver.spans.find((s) => attr(s, 'autoglm.request_id') === requestId));
    assert.equal(requestSpan.parentSpanId || undefined, undefined, 'a root span');
    assert.match(requestSpan.traceId, /^[0-9a-f]{32}$/);
  });

  it('traces an embeddings call, which fastify serves, as an embeddings operation', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 30_000 });
    const traceId = 'c'.repeat(32);
    const res = await client.embeddings.create(
      { model: 'vectors', input: ['a cat on a mat'] },
      { headers: { traceparent: `00-${traceId}-${'d'.repeat(16)}-01` } },
    );
    assert.equal(res.data.length, 1);

    const requestSpan = await until('the request span', () => receiver.spans.find((s) => s.kind === SPAN_KIND_SERVER && s.traceId === traceId));
    assert.equal(requestSpan.parentSpanId, 'd'.repeat(16));
    assert.equal(requestSpan.name, 'embeddings vectors');
    assert.equal(attr(requestSpan, 'gen_ai.operation.name'), 'embeddings');
    assert.equal(attr(requestSpan, 'gen_ai.request.model'), 'vectors');
    assert.equal(attr(requestSpan, 'gen_ai.usage.input_tokens'), res.usage.prompt_tokens);
    assert.equal(attr(requestSpan, 'http.route'), '/v1/embeddings');
    const attempt = await until('its attempt', () => receiver.spans.find((s) => s.name === 'upstream.attempt' && s.parentSpanId === requestSpan.spanId));
    assert.equal(attr(attempt, 'autoglm.replica'), 'v0');
  });

  it('is turned on by AUTOGLM_TRACING=1 and sent where OTEL_EXPORTER_OTLP_ENDPOINT says, a stream counted too', async () => {
    const saved = { endpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT, service: process.env.OTEL_SERVICE_NAME };
    Object.assign(process.env, { AUTOGLM_TRACING: '1', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'from-the-environment' });
    let env: GatewayServer | undefined;
    try {
      env = await serveGateway(parseGatewayConfig(gatewayYaml(upstreams.urls, [])), { serverOverrides: { port: 0 }, seed: 3 });
    } finally {
      delete process.env.AUTOGLM_TRACING;
      for (const [key, value] of [
        ['OTEL_EXPORTER_OTLP_ENDPOINT', saved.endpoint],
        ['OTEL_SERVICE_NAME', saved.service],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    try {
      const traceId = 'e'.repeat(32);
      const client = new OpenAI({ baseURL: `${env.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 30_000 });
      const stream = await client.chat.completions.create(
        { model: 'chat', messages: [{ role: 'user', content: 'stream it' }], stream: true, stream_options: { include_usage: true } },
        { headers: { traceparent: `00-${traceId}-${'f'.repeat(16)}-01` } },
      );
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      assert.ok(text.length > 0, 'the stream said something');
      const requestSpan = await until('the request span', () => receiver.spans.find((s) => s.kind === SPAN_KIND_SERVER && s.traceId === traceId));
      assert.equal(attr(requestSpan, 'http.response.status_code'), 200);
      assert.equal(attr(requestSpan, 'gen_ai.usage.output_tokens'), 5);
      assert.ok(receiver.services.includes('from-the-environment'), 'OTEL_SERVICE_NAME names the service');
    } finally {
      await env.close();
    }
  });

  it('says in the log, once, when spans cannot be exported, and keeps answering', async () => {
    const lines: { level: number; msg: string }[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    // Nothing listens on port 9 of the loopback.
    const tracing = ['tracing:', '  enabled: true', '  endpoint: "http://127.0.0.1:9/v1/traces"'];
    const lost = await serveGateway(parseGatewayConfig(gatewayYaml(upstreams.urls, tracing)), {
      serverOverrides: { port: 0 },
      seed: 3,
      logger: pino({ level: 'info' }, sink),
    });
    try {
      const client = new OpenAI({ baseURL: `${lost.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 30_000 });
      for (let i = 0; i < 2; i++) {
        const res = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: `lost ${i}` }], max_tokens: 16 });
        assert.equal(res.choices[0]?.message.content, 'Once upon a time');
      }
      const warning = await until('the warning', () => lines.find((l) => l.msg.startsWith('tracing: could not export')));
      assert.equal(warning.level, 40, 'a warning');
    } finally {
      await lost.close();
    }
    assert.equal(lines.filter((l) => l.msg.startsWith('tracing: could not export')).length, 1, 'said once');
  });

  it('sends no traceparent upstream and creates no exporter when tracing is off', async () => {
    const off = await serveGateway(parseGatewayConfig(gatewayYaml(upstreams.urls, [])), { serverOverrides: { port: 0 }, seed: 3 });
    try {
      assert.equal(off.app.servingState.tracing, undefined, 'no tracing SDK without tracing enabled');
      const before = upstreams.seen.length;
      const client = new OpenAI({ baseURL: `${off.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 30_000 });
      const res = await client.chat.completions.create(
        { model: 'chat', messages: [{ role: 'user', content: 'untraced' }], max_tokens: 16 },
        { headers: { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` } },
      );
      assert.equal(res.choices[0]?.message.content, 'Once upon a time');
      const sent = upstreams.seen.slice(before);
      assert.equal(sent.length, 1);
      assert.equal(sent[0]!.headers.traceparent, undefined, 'no traceparent upstream');
    } finally {
      await off.close();
    }
  });
});
