// A client that hangs up before its answer is not a server failure: nothing is logged as an error, the ledger says
// 499, and the next caller is served.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { until } from '../support/processes.js';

describe('client hang-ups', () => {
  const lines: { level: number; msg: string }[] = [];
  let gateway: GatewayServer;

  before(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    gateway = await serveGateway(
      parseGatewayConfig(`
database: ':memory:'
models:
  slow: { replicas: [{ type: sim, preset: instant, overheadMs: 300, outputTokens: 4 }] }
`),
      { serverOverrides: { port: 0 }, logger: pino({ level: 'info' }, sink) },
    );
  });

  after(async () => {
    await gateway?.close();
  });

  it('logs no error for an answer nobody waits for, and records it as 499', async () => {
    const body = JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: 'hi' }] });
    const gone = new AbortController();
    const abandoned = request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: gone.signal,
    });
    // Hung up once the call is running (a fixed delay loses the race on a busy machine), then wait for it to end.
    const outstanding = () => gateway.served.runtime.replicaStatus()[0]!.outstanding;
    await until(() => outstanding() === 1, 20_000, 5);
    gone.abort();
    await assert.rejects(abandoned);
    await until(() => outstanding() === 0, 20_000);
    const next = await request(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(next.statusCode, 200);
    await next.body.dump();
    assert.deepEqual(
      lines.filter((l) => l.level >= 50).map((l) => l.msg),
      [],
    );
    const csv = await (await request(`${gateway.url}/admin/usage?format=csv`)).body.text();
    assert.deepEqual(
      csv
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[9]),
      ['499', '200'],
    );
  });
});
