// `autoglm bench --api chat|responses|messages`: the load generator speaks each dialect (its path, auth header, body
// and stream events) against our own gateway with auth on and sim replicas, and reads text, tokens and the end from it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseGatewayConfig } from '../../src/config/index.js';
import type { BenchResult } from '../../src/loadgen/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { runCli } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-bench-api-'));

describe('autoglm bench in each API dialect', () => {
  let gateway: GatewayServer;
  let key: string;
  before(async () => {
    gateway = await serveGateway(
      parseGatewayConfig(`
database: ':memory:'
auth: { enabled: true }
tenants: { acme: {} }
models:
  chat:
    replicas:
      - { type: sim, preset: instant, overheadMs: 5, itlMs: 2, outputTokens: 7 }
`),
      { serverOverrides: { port: 0 } },
    );
    key = gateway.tenancy.store.createKey({ tenant: 'acme', scopes: ['inference'] }).key;
  });
  after(() => gateway?.close());

  const bench = async (api: string, extra: string[] = []) => {
    const out = join(dir, `${api}.json`);
    const run = runCli(
      ['bench', '-q', '--url', `${gateway.url}/v1`, '--api', api, '--model', 'chat', '-n', '6', '-c', '2', '--output-tokens', '16', '-o', out, ...extra],
      {
        ...process.env,
        AUTOGLM_API_KEY: key,
      },
    );
    const code = await run.exited;
    return { code, run, result: () => JSON.parse(readFileSync(out, 'utf8')) as BenchResult };
  };

  for (const api of ['chat', 'responses', 'messages']) {
    it(`--api ${api}: every request streamed in its dialect, tokens and first tokens read from its events`, async () => {
      const { code, run, result } = await bench(api);
      assert.equal(code, 0, `${run.out()} ${run.err()}`);
      const r = result();
      assert.equal(r.target.api, api);
      assert.deepEqual(r.requests, { sent: 6, ok: 6, errors: 0 }, r.errorSamples.join(' | '));
      // The sim answers 7 tokens: the count comes from the dialect's usage, not from counting events.
      assert.equal(r.throughput.outputTokensPerS > 0, true);
      assert.equal(r.ttftMs.count, 6, 'a first token was seen in every stream');
      assert.ok(r.itlMs.count > 0, 'gaps between text events were timed');
      assert.ok(r.throughput.totalTokensPerS > r.throughput.outputTokensPerS, 'prompt tokens were read from the usage');
      assert.match(run.out(), new RegExp(api === 'chat' ? 'chat completions' : api === 'responses' ? 'Responses API' : 'Anthropic Messages'));
    });
  }

  it('counts output tokens from each dialect’s usage: the same sim answers the same count in all three', async () => {
    const perRequest = (r: BenchResult) => Math.round((r.throughput.outputTokensPerS * r.durationS) / r.requests.ok);
    const counts: number[] = [];
    for (const api of ['chat', 'responses', 'messages']) {
      const { code, run, result } = await bench(api);
      assert.equal(code, 0, run.err());
      counts.push(perRequest(result()));
    }
    assert.deepEqual(counts, [7, 7, 7]);
  });

  it('sends each dialect its own auth: a bad key is refused with the server’s message, and --api takes only the three', async () => {
    for (const api of ['responses', 'messages']) {
      const run = runCli(['bench', '-q', '--url', `${gateway.url}/v1`, '--api', api, '--model', 'chat', '-n', '2', '-c', '1', '--output-tokens', '4'], {
        ...process.env,
        AUTOGLM_API_KEY: 'sk-wrong',
      });
      assert.equal(await run.exited, 1, run.err());
      assert.match(run.err(), /every request failed; the first: HTTP 401/);
    }
    const bogus = runCli(['bench', '-q', '--url', `${gateway.url}/v1`, '--api', 'soap', '--model', 'chat']);
    assert.equal(await bogus.exited, 1);
    const lines = bogus
      .err()
      .split('\n')
      .filter((l) => l.startsWith('autoglm: error'));
    assert.equal(lines.length, 1, bogus.err());
    assert.match(lines[0]!, /--api is chat, responses, messages, not 'soap'/);
  });
});
