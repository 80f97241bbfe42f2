// `autoglm bench` against a sim pool (closed and open loop, JSON, HTML, A/B comparison) and `autoglm tune` on the
// real embedded engine (a short run, then resumed from its state file).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseGatewayConfig } from '../../src/config/index.js';
import type { BenchResult } from '../../src/loadgen/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { runCli } from '../support/processes.js';
import { modelMirror } from '../support/server.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-bench-'));

describe('autoglm bench against a sim pool', () => {
  let gateway: GatewayServer;

  before(async () => {
    gateway = await serveGateway(
      parseGatewayConfig(`
database: ':memory:'
models:
  chat:
    replicas:
      - { type: sim, preset: instant, overheadMs: 20, itlMs: 2, outputTokens: 32, maxRunning: 4 }
      - { type: sim, preset: instant, overheadMs: 20, itlMs: 2, outputTokens: 32, maxRunning: 4 }
`),
      { serverOverrides: { port: 0 } },
    );
  });

  after(async () => {
    await gateway?.close();
  });

  it('exits 1 with what the server answered when nothing succeeded: an unknown model, a URL without /v1, no or a bad key, and refuses -r 0', async () => {
    const locked = await serveGateway(
      parseGatewayConfig(`
database: ':memory:'
auth: { enabled: true }
models:
  chat:
    replicas:
      - { type: sim, preset: instant, overheadMs: 5, itlMs: 1, outputTokens: 4 }
`),
      { serverOverrides: { port: 0 } },
    );
    try {
      const refused = async (args: string[], expected: RegExp) => {
        const run = runCli(['bench', '-q', '-n', '3', '-c', '1', '--output-tokens', '4', ...args], { ...process.env, AUTOGLM_API_KEY: '' });
        assert.equal(await run.exited, 1, `${args.join(' ')}: ${run.out()} ${run.err()}`);
        const lines = run
          .err()
          .split('\n')
          .filter((l) => l.startsWith('autoglm: error'));
        assert.equal(lines.length, 1, run.err());
        assert.match(lines[0]!, expected);
      };
      await Promise.all([
        refused(['--url', `${gateway.url}/v1`, '--model', 'nope'], /^autoglm: error: every request failed; the first: HTTP 404: [^{]*'nope'/),
        refused(['--url', gateway.url], /^autoglm: error: .*\/models answered HTTP 404: .*; is --url the base URL with \/v1\?$/),
        refused(['--url', `${locked.url}/v1`], /^autoglm: error: .*\/models answered HTTP 401: Missing API key.*--api-key/),
        refused(['--url', `${locked.url}/v1`, '--api-key', 'agk_000000000000_bad'], /^autoglm: error: .*\/models answered HTTP 401: /),
        refused(
          ['--url', `${gateway.url}/v1`, '-r', '0'],
          /^autoglm: error: option '-r, --rate <req\/s>' argument '0' is invalid\. It must be a positive number\.$/,
        ),
      ]);
    } finally {
      await locked.close();
    }
  });

  it('measures a closed loop and an open loop, writes JSON and HTML, and compares the two', async () => {
    const closed = runCli([
      'bench',
      '--url',
      `${gateway.url}/v1`,
      '-c',
      '4',
      '-n',
      '40',
      '--output-tokens',
      '16',
      '--slo-ttft-ms',
      '500',
      '-q',
      '-o',
      join(dir, 'closed.json'),
      '--html',
      join(dir, 'closed.html'),
    ]);
    assert.equal(await closed.exited, 0, closed.err());
    assert.match(closed.out(), /closed loop, 4 users/);
    assert.match(closed.out(), /40 ok, 0 failed of 40 sent/);
    assert.match(closed.out(), /^goodput \(ttft <= 500 ms\): [\d.]+ req\/s, 100\.0% of requests$/m);
    const a = JSON.parse(readFileSync(join(dir, 'closed.json'), 'utf8')) as BenchResult;
    assert.ok(a.ttftMs.p50 >= 20, `TTFT p50 ${a.ttftMs.p50} ms includes the 20 ms overhead`);
    assert.ok(a.itlMs.p50 >= 1 && a.itlMs.p50 < 20, `ITL p50 ${a.itlMs.p50}`);
    assert.ok(a.e2eMs.p99 >= a.e2eMs.p50 && a.e2eMs.p999 >= a.e2eMs.p99, 'a.e2eMs.p99 >= a.e2eMs.p50 && a.e2eMs.p999 >= a.e2eMs.p99');
    assert.equal(a.goodput.share, 1);
    assert.ok(a.throughput.outputTokensPerS > 0 && a.timeline.length >= 1, 'a.throughput.outputTokensPerS > 0 && a.timeline.length >= 1');
    const page = readFileSync(join(dir, 'closed.html'), 'utf8');
    assert.match(page, /<svg[\s\S]*End-to-end latency, cumulative[\s\S]*<svg[\s\S]*Output tokens per second/);

    // Open loop faster than the pool can serve (8 sequences, ~50 ms each): latency counted from when each request was
    // due keeps growing, where a closed loop would have hidden the queue.
    const open = runCli([
      'bench',
      '--url',
      `${gateway.url}/v1`,
      '-r',
      '400',
      '--arrival',
      'constant',
      '-n',
      '200',
      '--output-tokens',
      '16',
      '-q',
      '-o',
      join(dir, 'open.json'),
    ]);
    assert.equal(await open.exited, 0, open.err());
    const b = JSON.parse(readFileSync(join(dir, 'open.json'), 'utf8')) as BenchResult;
    assert.equal(b.requests.ok, 200);
    assert.doesNotMatch(open.out(), /goodput/, 'no goodput without an objective');
    assert.ok(b.e2eMs.p99 > 3 * a.e2eMs.p99, `open loop p99 ${b.e2eMs.p99} ms vs closed ${a.e2eMs.p99} ms`);

    const compare = runCli(['bench', '--compare', join(dir, 'closed.json'), join(dir, 'open.json')]);
    assert.equal(await compare.exited, 0, compare.err());
    assert.match(compare.out(), /^e2e p99 ms\s+[\d.]+\s+[\d.]+\s+\+[\d.]+%\s+worse$/m);
    // The two runs loaded the server differently: the table says so rather than passing it off as the server's doing.
    assert.match(compare.err(), /^warning: the runs differ in load: A closed loop of 4 users, B open loop at 400 req\/s \(constant\)$/m);
    assert.match(compare.err(), /^warning: the runs differ in SLOs: A ttft <= 500 ms, B none$/m);
    assert.doesNotMatch(compare.out(), /goodput/, 'goodput is compared only under the same objective');
    const same = runCli(['bench', '--compare', join(dir, 'closed.json'), join(dir, 'closed.json')]);
    assert.equal(await same.exited, 0, same.err());
    assert.doesNotMatch(same.err(), /warning/);
    assert.match(same.out(), /^goodput req\/s\s/m);
  });
});

describe('autoglm tune on the embedded engine', () => {
  it('runs TPE trials against real servers, writes the best settings, and resumes from its state', async () => {
    const state = join(dir, 'tune.json');
    const out = join(dir, 'best.yaml');
    const args = [
      'tune',
      '--param',
      'parallel=int:1:4',
      '--budget',
      '3',
      '--requests',
      '8',
      '--concurrency',
      '4',
      '--output-tokens',
      '16',
      '--trial-seconds',
      '3',
      '--state',
      state,
      '--out',
      out,
    ];
    const env = { ...process.env, AUTOGLM_MODEL_MIRROR: modelMirror };
    const first = runCli(args, env);
    assert.equal(await first.exited, 0, first.err());
    assert.match(first.out(), /^tpe:/m);
    assert.equal(first.out().match(/^\s+\d+\s+parallel=\d/gm)?.length, 3);
    assert.match(first.out(), /best: parallel=\d -> \d+ tok\/s/);
    assert.ok(existsSync(out), 'existsSync(out)');
    assert.match(readFileSync(out, 'utf8'), /parallel: \d/);
    const started = Date.now();
    const again = runCli(args, env);
    assert.equal(await again.exited, 0, again.err());
    assert.ok(Date.now() - started < 8000, 'nothing is measured again');
    assert.equal(
      again
        .out()
        .split('\n')
        .filter((l) => /^\s+\d+\s+parallel/.test(l))
        .join('\n'),
      first
        .out()
        .split('\n')
        .filter((l) => /^\s+\d+\s+parallel/.test(l))
        .join('\n'),
    );
  });
});
