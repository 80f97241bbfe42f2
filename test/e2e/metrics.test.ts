// /metrics as a Prometheus user reads it: process metrics under one autoglm_ prefix, and each replica's breaker state
// as a labelled series (state="closed|half_open|open", 1 for the state it is in) instead of a bare number.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { until } from '../support/processes.js';

describe('/metrics names', () => {
  let gateway: GatewayServer;
  const scrape = async () => (await (await request(`${gateway.url}/metrics`)).body.text());
  const ask = async () => {
    const res = await request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
    });
    await res.body.dump();
    return res.statusCode;
  };

  before(async () => {
    gateway = await serveGateway(parseGatewayConfig(`
database: ':memory:'
models:
  chat:
    policy: round_robin
    retry: { attempts: 1 }
    breaker: { failureThreshold: 2, openMs: 600000 }
    replicas:
      - { type: sim, id: good, preset: instant, outputTokens: 2 }
      - { type: sim, id: bad, preset: instant, faults: { errorRate: 1 } }
`), { serverOverrides: { port: 0 } });
  });

  after(async () => {
    await gateway?.close();
  });

  it('names the process metrics once: autoglm_process_*, autoglm_nodejs_*', async () => {
    const text = await scrape();
    const names = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]!));
    assert.ok(names.has('autoglm_process_cpu_user_seconds_total'), [...names].filter((n) => n.includes('cpu')).join(', '));
    assert.ok(names.has('autoglm_nodejs_heap_size_used_bytes'), [...names].filter((n) => n.includes('heap')).join(', '));
    const doubled = [...names].filter((n) => /process_process_|nodejs_nodejs_|process_nodejs_/.test(n));
    assert.deepEqual(doubled, []);
  });

  it('labels each breaker with its state', async () => {
    const state = (text: string, replica: string, s: string) => Number(new RegExp(`^autoglm_replica_breaker_state\\{model="chat",replica="${replica}",state="${s}"\\} (\\d)`, 'm').exec(text)?.[1] ?? NaN);
    const before = await scrape();
    assert.deepEqual(['closed', 'half_open', 'open'].map((s) => state(before, 'bad', s)), [1, 0, 0], before.split('\n').filter((l) => l.includes('breaker')).join('\n'));
    // Round robin sends every other call to the failing replica; two failures open its breaker.
    await until(async () => {
      await ask();
      return state(await scrape(), 'bad', 'open') === 1;
    }, 15_000, 0);
    const text = await scrape();
    assert.deepEqual(['closed', 'half_open', 'open'].map((s) => state(text, 'bad', s)), [0, 0, 1]);
    assert.deepEqual(['closed', 'half_open', 'open'].map((s) => state(text, 'good', s)), [1, 0, 0]);
    assert.match(text, /# HELP autoglm_replica_breaker_state .*state="closed\|half_open\|open"/);
  });
});
