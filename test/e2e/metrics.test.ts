// /metrics as a Prometheus user reads it: process metrics under one autoglm_ prefix, each replica's breaker state as a
// labelled series (state="closed|half_open|open", 1 for the state it is in) instead of a bare number, and a time to
// first token for whole answers too, on the gateway and on the embedded engine alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, serveModel, type GatewayServer } from '../../src/server/index.js';
import { until } from '../support/processes.js';
import { testPaths } from '../support/server.js';

describe('/metrics names', () => {
  let gateway: GatewayServer;
  const scrape = async () => await (await request(`${gateway.url}/metrics`)).body.text();
  const ask = async () => {
    const res = await request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
    });
    await res.body.dump();
    return res.statusCode;
  };

  before(async () => {
    gateway = await serveGateway(
      parseGatewayConfig(`
database: ':memory:'
models:
  chat:
    policy: round_robin
    retry: { attempts: 1 }
    breaker: { failureThreshold: 2, openMs: 600000 }
    replicas:
      - { type: sim, id: good, preset: instant, outputTokens: 2 }
      - { type: sim, id: bad, preset: instant, faults: { errorRate: 1 } }
`),
      { serverOverrides: { port: 0 } },
    );
  });

  after(async () => {
    await gateway?.close();
  });

  it('names the process metrics once: autoglm_process_*, autoglm_nodejs_*', async () => {
    const text = await scrape();
    const names = new Set(
      text
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(/[{ ]/)[0]!),
    );
    assert.ok(names.has('autoglm_process_cpu_user_seconds_total'), [...names].filter((n) => n.includes('cpu')).join(', '));
    assert.ok(names.has('autoglm_nodejs_heap_size_used_bytes'), [...names].filter((n) => n.includes('heap')).join(', '));
    const doubled = [...names].filter((n) => /process_process_|nodejs_nodejs_|process_nodejs_/.test(n));
    assert.deepEqual(doubled, []);
  });

  it("counts a wrong method and an over-long parameter under the route they were sent to, not as 'unmatched'", async () => {
    const wrongMethod = await request(`${gateway.url}/v1/models`, { method: 'DELETE' });
    await wrongMethod.body.dump();
    const tooLong = await request(`${gateway.url}/v1/models/${'m'.repeat(4000)}`);
    await tooLong.body.dump();
    const unknown = await request(`${gateway.url}/no/such/path`);
    await unknown.body.dump();
    assert.deepEqual([wrongMethod.statusCode, tooLong.statusCode, unknown.statusCode], [405, 414, 404]);
    const text = await scrape();
    const count = (route: string, status: number) =>
      Number(new RegExp(`^autoglm_requests_total\\{route="${route.replace(/[/:]/g, '\\$&')}",status="${status}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    assert.equal(
      count('/v1/models', 405),
      1,
      text
        .split('\n')
        .filter((l) => l.startsWith('autoglm_requests_total'))
        .join('\n'),
    );
    assert.equal(count('/v1/models/:id', 414), 1, 'the 414 counts under /v1/models/:id');
    assert.equal(count('unmatched', 404), 1, 'a path no route knows is unmatched');
  });

  it('labels each breaker with its state', async () => {
    const state = (text: string, replica: string, s: string) =>
      Number(new RegExp(`^autoglm_replica_breaker_state\\{model="chat",replica="${replica}",state="${s}"\\} (\\d)`, 'm').exec(text)?.[1] ?? NaN);
    const before = await scrape();
    assert.deepEqual(
      ['closed', 'half_open', 'open'].map((s) => state(before, 'bad', s)),
      [1, 0, 0],
      before
        .split('\n')
        .filter((l) => l.includes('breaker'))
        .join('\n'),
    );
    // Round robin sends every other call to the failing replica; two failures open its breaker.
    await until(
      async () => {
        await ask();
        return state(await scrape(), 'bad', 'open') === 1;
      },
      15_000,
      0,
    );
    const text = await scrape();
    assert.deepEqual(
      ['closed', 'half_open', 'open'].map((s) => state(text, 'bad', s)),
      [0, 0, 1],
    );
    assert.deepEqual(
      ['closed', 'half_open', 'open'].map((s) => state(text, 'good', s)),
      [1, 0, 0],
    );
    assert.match(text, /# HELP autoglm_replica_breaker_state .*state="closed\|half_open\|open"/);
  });

  it('times the first token of whole answers, per replica and for the dashboard', async () => {
    const ttftCount = async () => Number(/^autoglm_time_to_first_token_seconds_count\{model="chat"\} (\d+)/m.exec(await scrape())?.[1] ?? 0);
    const before = await ttftCount();
    let answered = 0;
    for (let i = 0; i < 20 && answered < 3; i++) if ((await ask()) === 200) answered++;
    assert.equal(answered, 3, 'the healthy replica answered');
    assert.ok((await ttftCount()) >= before + 3, 'every whole answer was timed to its first token');
    assert.match(await scrape(), /^autoglm_replica_time_to_first_token_seconds_count\{model="chat",replica="good"\} [1-9]/m);
    const stats = (await (await request(`${gateway.url}/admin/stats`)).body.json()) as {
      live: { ttftMs: { p50: number | null } };
      replicas: { id: string; ewmaTtftMs: number | null }[];
    };
    assert.equal(typeof stats.live.ttftMs.p50, 'number', 'the dashboard has a first-token p50 without any stream');
    assert.equal(typeof stats.replicas.find((r) => r.id === 'good')?.ewmaTtftMs, 'number');
  });
});

describe("time to first token of the embedded engine's whole answers", () => {
  it('is known, though the caller saw nothing before the end', async () => {
    const server = await serveModel({
      engine: { model: 'stories260K', threads: 1 },
      server: { port: 0 },
      paths: testPaths(),
      tenancy: { database: ':memory:' },
    });
    try {
      const res = await request(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'stories260K', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 16 }),
      });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
      const stats = (await (await request(`${server.url}/admin/stats`)).body.json()) as {
        live: { latencyMs: { p50: number }; ttftMs: { p50: number | null } };
      };
      const { ttftMs, latencyMs } = stats.live;
      assert.equal(typeof ttftMs.p50, 'number', JSON.stringify(stats.live));
      assert.ok(ttftMs.p50! <= latencyMs.p50, `first token ${ttftMs.p50} ms, whole answer ${latencyMs.p50} ms`);
    } finally {
      await server.close();
    }
  });
});
