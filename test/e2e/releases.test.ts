// Canary releases on sim replicas: a canary failing 20% of calls is rolled back within its window while its failed
// calls are answered by the stable version, a webhook hears why, the state survives a restart; a canary whose replicas
// are all down costs no caller an answer; a healthy canary ramps to 100%, sticky per session; the CLI and admin API
// show and steer rollouts; alert rules fire on a failing model.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Pool, request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { runCli, until } from '../support/processes.js';

const sim = (extra = '') => `{ type: sim, preset: instant, outputTokens: 4${extra} }`;

function configYaml(webhook: string, database: string): string {
  return `
database: ${database}
models:
  chat@v1: { retry: { attempts: 1 }, replicas: [${sim()}] }
  chat@v2: { retry: { attempts: 1 }, replicas: [${sim(', faults: { errorRate: 0.2 }, seed: 3')}] }
  calm@v1: { replicas: [${sim()}] }
  calm@v2: { replicas: [${sim()}] }
  flaky: { retry: { attempts: 1 }, replicas: [${sim(', faults: { errorRate: 0.5 }')}] }
  dead@v1: { replicas: [${sim()}] }
  dead@v2: { retry: { attempts: 1 }, breaker: { failureThreshold: 2, openMs: 600000 }, replicas: [${sim(', faults: { errorRate: 1 }')}] }
releases:
  chat:
    stable: v1
    canary: { version: v2, steps: [20, 50, 100], holdSeconds: 30 }
    slo: { windowSeconds: 1, minRequests: 10, errorWindows: 1 }
  calm:
    stable: v1
    canary: { version: v2, steps: [20, 60, 100], holdSeconds: 0.6 }
    slo: { windowSeconds: 0.5, minRequests: 5 }
  dead:
    stable: v1
    canary: { version: v2, steps: [20, 100], holdSeconds: 30 }
    slo: { windowSeconds: 0.5, minRequests: 5, errorWindows: 1 }
alerts:
  webhooks: [${webhook}]
  retries: 3
  windowSeconds: 0.5
  rules:
    - { name: flaky-errors, metric: error_rate, model: flaky, above: 0.2 }
`;
}

describe('canary releases', () => {
  const database = join(mkdtempSync(join(tmpdir(), 'autoglm-releases-')), 'state.db');
  const alerts: { type: string; [k: string]: unknown }[] = [];
  let hook: Server;
  let hookUrl = '';
  let hookCalls = 0;
  let gateway: GatewayServer;
  let pool: Pool;

  before(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        // The first delivery fails: alerts must be retried.
        if (hookCalls++ === 0) return void res.writeHead(500).end();
        alerts.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
    gateway = await serveGateway(parseGatewayConfig(configYaml(hookUrl, database)), { serverOverrides: { port: 0 }, seed: 1 });
    pool = new Pool(gateway.url, { connections: 16 });
  });

  after(async () => {
    await pool?.close();
    await gateway?.close();
    hook?.close();
  });

  async function ask(model: string, session: string): Promise<{ status: number; version?: string }> {
    const res = await pool.request({
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': session },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
    });
    const body = (await res.body.json()) as { model?: string };
    return { status: res.statusCode, version: body.model };
  }

  const status = async (release: string) =>
    (await (await request(`${gateway.url}/admin/rollouts/${release}`)).body.json()) as { status: string; canaryPercent: number; step: number };

  it('rolls a canary failing 20% of calls back within a few windows, its failed calls answered by the stable version', async () => {
    const started = Date.now();
    let calls = 0;
    const failed: string[] = [];
    const answeredBy = new Map<string, number>();
    let rolledBackAt = 0;
    const worker = async (w: number) => {
      for (let i = 0; Date.now() - started < 20_000 && (!rolledBackAt || Date.now() - rolledBackAt < 500); i++) {
        const r = await ask('chat', `chat-${w}-${i}`);
        calls++;
        if (r.status !== 200) failed.push(`chat-${w}-${i}: ${r.status}`);
        answeredBy.set(r.version ?? '?', (answeredBy.get(r.version ?? '?') ?? 0) + 1);
        if (!rolledBackAt && (await status('chat')).status === 'rolled_back') rolledBackAt = Date.now();
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    assert.ok(rolledBackAt > 0, 'the canary was rolled back');
    // A few 1 s windows (one may hold too few canary calls to judge), with room for a busy machine.
    const rate = Math.round((calls * 1000) / (Date.now() - started));
    assert.ok(rolledBackAt - started <= 8000, `rolled back after ${rolledBackAt - started} ms at ${rate} calls/s; the window is 1 s`);
    assert.deepEqual(failed, [], `no caller lost an answer to the canary's failures (${calls} calls)`);
    assert.ok((answeredBy.get('chat@v2') ?? 0) > 0, `the canary answered its share while healthy: ${JSON.stringify([...answeredBy])}`);
    const s = await status('chat');
    assert.equal(s.canaryPercent, 0);
    await until(() => alerts.some((a) => a.type === 'rollout.rolled_back'), 5000);
    const alert = alerts.find((a) => a.type === 'rollout.rolled_back')!;
    assert.equal(alert.release, 'chat');
    assert.match(String(alert.reason), /error_rate (0\.\d+|1) > 0\.050/);
    assert.ok((alert.evidence as { breaches: unknown[] }).breaches.length > 0, 'the alert carries its evidence');
  });

  it('answers every call from stable while the canary has no replica up, and rolls that canary back', async () => {
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => ask('dead', `dead-${i}`)));
    const refused = results.filter((r) => r.status !== 200);
    assert.equal(refused.length, 0, `${refused.length} of 300 calls failed: ${JSON.stringify(refused.slice(0, 3))}`);
    assert.ok(
      results.every((r) => r.version === 'dead@v1'),
      `answered by ${[...new Set(results.map((r) => r.version))].join(', ')}`,
    );
    // The calls that fell back count against the canary: its window shows 100% errors.
    await until(async () => (await status('dead')).status === 'rolled_back', 10_000, 50);
    const rollout = (await (await request(`${gateway.url}/admin/rollouts/dead`)).body.json()) as { reason: string };
    assert.match(rollout.reason, /error_rate 1 > 0\.050/);
  });

  it('ramps a healthy canary to 100%, never moving a session back to the old version', async () => {
    const sessions = Array.from({ length: 40 }, (_, i) => `calm-${i}`);
    const seen = new Map<string, string[]>();
    await until(
      async () => {
        for (const s of sessions) {
          const r = await ask('calm', s);
          assert.equal(r.status, 200);
          seen.set(s, [...(seen.get(s) ?? []), r.version!]);
        }
        return (await status('calm')).status === 'promoted';
      },
      15_000,
      0,
    );
    for (const [session, versions] of seen) {
      const firstNew = versions.indexOf('calm@v2');
      assert.ok(firstNew < 0 || versions.slice(firstNew).every((v) => v === 'calm@v2'), `${session} flipped back: ${versions.join(' ')}`);
    }
    const after = await Promise.all(sessions.map((s) => ask('calm', s)));
    assert.ok(
      after.every((r) => r.version === 'calm@v2'),
      "after.every((r) => r.version === 'calm@v2')",
    );
    assert.ok(
      alerts.some((a) => a.type === 'rollout.advanced') || alerts.some((a) => a.type === 'rollout.promoted'),
      "alerts.some((a) => a.type === 'rollout.advanced') || alerts.some((a) => a.type === 'rollout.promoted')",
    );
  });

  it('lets a caller pin a version and lists releases and versions in /v1/models', async () => {
    // calm was promoted to v2 above; a caller pinning v1 still gets v1.
    assert.equal((await ask('calm', 'pinned')).version, 'calm@v2');
    assert.equal((await ask('calm@v1', 'pinned')).version, 'calm@v1');
    const ids = ((await (await request(`${gateway.url}/v1/models`)).body.json()) as { data: { id: string }[] }).data.map((m) => m.id);
    for (const id of ['chat', 'calm', 'chat@v1', 'chat@v2', 'flaky']) assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
  });

  it('reports rollout times as wall-clock timestamps, in epoch milliseconds and ISO 8601', async () => {
    const { data } = (await (await request(`${gateway.url}/admin/rollouts`)).body.json()) as {
      data: { release: string; stepStartedMs: number; stepStartedAt: string; updatedMs: number; updatedAt: string }[];
    };
    assert.ok(data.length >= 3, 'every release is listed');
    for (const r of data) {
      // The gateway started within this test file's run: its rollouts began within the last ten minutes.
      assert.ok(Math.abs(Date.now() - r.stepStartedMs) < 600_000, `${r.release}: stepStartedMs ${r.stepStartedMs} is not a time near now`);
      assert.equal(Date.parse(r.stepStartedAt), r.stepStartedMs);
      assert.ok(r.updatedMs >= r.stepStartedMs && Date.parse(r.updatedAt) === r.updatedMs, `${r.release}: updated ${r.updatedAt}`);
    }
  });

  it('fires an alert rule on a model failing half its calls', async () => {
    await Promise.all(Array.from({ length: 40 }, (_, i) => ask('flaky', `f-${i}`)));
    await until(() => alerts.some((a) => a.type === 'alert.firing' && a.rule === 'flaky-errors'), 5000);
  });

  it('shows and steers rollouts from the CLI, and keeps their state across a restart', async () => {
    const shown = runCli(['rollout', 'status', '--url', gateway.url]);
    assert.equal(await shown.exited, 0, shown.err());
    assert.match(shown.out(), /chat\s+rolled_back\s+stable v1\s+canary v2\s+0%/);
    assert.match(shown.out(), /calm\s+promoted/);
    const promoted = runCli(['rollout', 'promote', 'chat', '--url', gateway.url]);
    assert.equal(await promoted.exited, 0, promoted.err());
    assert.match(promoted.out(), /chat\s+promoted.*100%/);
    const aborted = runCli(['rollout', 'abort', 'chat', '--url', gateway.url]);
    assert.equal(await aborted.exited, 0, aborted.err());
    assert.match(aborted.out(), /chat\s+aborted/);
    const missing = runCli(['rollout', 'abort', 'nope', '--url', gateway.url]);
    assert.equal(await missing.exited, 1);
    assert.match(missing.err(), /No release 'nope'/);

    await pool.close();
    await gateway.close();
    gateway = await serveGateway(parseGatewayConfig(configYaml(hookUrl, database)), { serverOverrides: { port: 0 }, seed: 1 });
    pool = new Pool(gateway.url, { connections: 16 });
    assert.equal((await status('chat')).status, 'aborted');
    assert.equal((await status('calm')).status, 'promoted');
    assert.equal((await ask('chat', 'after-restart')).version, 'chat@v1');
  });
});
