// A rollout's SIGTERM as a balancer sees it: /ready turns 503 at once while /health stays 200, the server keeps
// serving through its drain delay (the time a balancer takes to stop sending), then finishes every stream in flight
// and exits 0. Under streaming load, not one request fails.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { runCli, startSim, until, type CliProcess } from '../support/processes.js';

const DRAIN_DELAY_S = 3;
/** How long the load goes on sending after /ready first answers 503, as a balancer's probe period and sync lag. */
const BALANCER_LAG_MS = 1500;
const WORKERS = 6;

interface Outcome {
  stream: boolean;
  startedAt: number;
  endedAt?: number;
  status: number;
  done: boolean;
  error?: string;
}

describe('SIGTERM under streaming load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'autoglm-drain-'));
  let server: CliProcess | undefined;
  after(async () => {
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('turns /ready 503 at once, keeps /health 200 and serving through the delay, ends every stream and exits 0', async (t) => {
    // Streams of 20 tokens at 25 ms: each is in flight for half a second, so the signal lands mid-stream, and several
    // start after it while the balancer still sends.
    const config = join(dir, 'autoglm.yaml');
    // `long` streams for 4 s: one sent just after SIGTERM is still in flight when the drain begins.
    writeFileSync(
      config,
      [
        'models:',
        '  slow:',
        '    replicas:',
        '      - { type: sim, overheadMs: 20, itlMs: 25, itlJitter: 0, outputTokens: 20 }',
        '  long:',
        '    replicas:',
        '      - { type: sim, overheadMs: 20, itlMs: 200, itlJitter: 0, outputTokens: 20 }',
        '',
      ].join('\n'),
    );
    server = runCli(
      [
        'serve',
        '--config',
        config,
        '--port',
        '0',
        '--drain-delay',
        String(DRAIN_DELAY_S),
        '--drain-seconds',
        '30',
        '--keep-alive-timeout',
        '30',
        '--log-level',
        'warn',
      ],
      {
        ...process.env,
        AUTOGLM_DATA_DIR: dir,
      },
    );
    const stderrAt: { at: number; line: string }[] = [];
    server.child.stderr!.on('data', (d: Buffer) => stderrAt.push({ at: Date.now(), line: String(d) }));
    await until(() => /gateway at (http:\/\/[\d.:]+)\/v1/.test(server!.out()) || server!.child.exitCode !== null, 120_000);
    const url = /gateway at (http:\/\/[\d.:]+)\/v1/.exec(server.out())?.[1];
    assert.ok(url, `the gateway started: ${server.err()}`);
    const exited = server.exited;

    // Each worker keeps its own keep-alive connection, as a balancer's upstream pool does.
    // Idle connections are kept 30 s, as a balancer keeps its upstream ones (nginx: 60 s), and the server allows it.
    const agent = new Agent({ connections: WORKERS + 2, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 30_000 });
    let sending = true;
    const outcomes: Outcome[] = [];
    const call = async (stream: boolean, model = 'slow') => {
      const outcome: Outcome = { stream, startedAt: Date.now(), status: 0, done: false };
      outcomes.push(outcome);
      try {
        const res = await request(`${url}/v1/chat/completions`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model, stream, max_tokens: 20, messages: [{ role: 'user', content: 'Tell me a story.' }] }),
        });
        outcome.status = res.statusCode;
        const body = await res.body.text();
        outcome.done = stream ? body.trimEnd().endsWith('data: [DONE]') : res.statusCode === 200 && body.includes('"choices"');
        outcome.endedAt = Date.now();
        if (!outcome.done) outcome.error = `${model}: ${body.slice(0, 300)}`;
      } catch (err) {
        outcome.error = String(err);
      }
    };
    const workers = Array.from({ length: WORKERS }, async (_, i) => {
      // Most calls stream; every third worker asks for whole answers.
      while (sending) await call(i % 3 !== 2);
    });

    // Probes, as the kubelet and a balancer would send them, on their own connections.
    const probes: { at: number; path: string; status: number }[] = [];
    let probing = true;
    const probe = async (path: string) => {
      try {
        const res = await request(`${url}${path}`, { headers: { connection: 'close' } });
        await res.body.dump();
        probes.push({ at: Date.now(), path, status: res.statusCode });
      } catch {
        probes.push({ at: Date.now(), path, status: 0 });
      }
    };
    const prober = (async () => {
      while (probing) {
        await Promise.all([probe('/ready'), probe('/health')]);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    // Load first: a few streams finished, others in flight.
    await until(() => outcomes.filter((o) => o.done).length >= WORKERS, 60_000);
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    const long = call(true, 'long');
    // The balancer: it stops sending a while after it first sees /ready fail.
    await until(() => probes.some((p) => p.path === '/ready' && p.status === 503 && p.at >= signalledAt), 30_000, 10);
    const notReadyAt = probes.find((p) => p.path === '/ready' && p.status === 503 && p.at >= signalledAt)!.at;
    await new Promise((r) => setTimeout(r, BALANCER_LAG_MS));
    sending = false;
    await Promise.all([...workers, long]);
    const code = await exited;
    const exitedAt = Date.now();
    const drainStartedAt = stderrAt.find((s) => s.line.includes('draining in-flight'))?.at;
    probing = false;
    await prober;
    await agent.close();

    const failed = outcomes.filter((o) => !o.done);
    const afterSignal = outcomes.filter((o) => o.startedAt >= signalledAt);
    const streams = outcomes.filter((o) => o.stream);
    const during = probes.filter((p) => p.at > notReadyAt && drainStartedAt !== undefined && p.at < drainStartedAt);
    t.diagnostic(
      `${outcomes.length} requests (${streams.length} streams), ${afterSignal.length} sent after SIGTERM, ${failed.length} failed; ` +
        `/ready 503 ${notReadyAt - signalledAt} ms after SIGTERM; drain started ${drainStartedAt ? drainStartedAt - signalledAt : '?'} ms after it, ` +
        `exit ${code} ${drainStartedAt ? exitedAt - drainStartedAt : '?'} ms after that (the 4 s stream sent after SIGTERM drained); ${during.length} probes during the delay`,
    );

    assert.equal(code, 0, `the server exits 0 (${server.err()})`);
    assert.deepEqual(
      failed.map((o) => `${o.stream ? 'stream' : 'call'} ${o.status} ${o.error ?? ''}`),
      [],
      'no request failed, every stream ended with data: [DONE]',
    );
    assert.ok(streams.length > WORKERS, `streams ran: ${streams.length}`);
    assert.ok(afterSignal.length > 0, 'requests sent after SIGTERM (before the balancer stopped) were served');
    assert.ok(notReadyAt - signalledAt < 2000, `/ready turned 503 at once (${notReadyAt - signalledAt} ms)`);
    assert.ok(drainStartedAt, `the server said it started draining: ${server.err()}`);
    assert.ok(drainStartedAt - signalledAt >= DRAIN_DELAY_S * 1000, 'draining began after the delay, not before');
    const drained = outcomes.find((o) => o.startedAt >= signalledAt && o.endedAt !== undefined && o.endedAt > drainStartedAt);
    assert.ok(drained?.done, 'a stream in flight when the drain began was finished, to its data: [DONE]');
    // Connections the clients kept alive (30 s here) do not hold the exit: answers during the drain close theirs.
    const lastAnswer = Math.max(...outcomes.map((o) => o.endedAt ?? 0));
    assert.ok(exitedAt - lastAnswer < 10_000, `the server exited ${exitedAt - lastAnswer} ms after its last answer, not a keep-alive timeout later`);
    assert.ok(during.length >= 4, `probes ran during the delay: ${during.length}`);
    for (const p of during) assert.equal(p.status, p.path === '/health' ? 200 : 503, `${p.path} during the delay answers ${p.status}`);
  });
});

describe('SIGTERM to autoglm sim', () => {
  it('takes the drain flags serve takes: /ready 503 through the delay while it still answers, then exit 0', async () => {
    const sim = await startSim(['--port', '0', '--preset', 'instant', '--drain-delay', '5', '--drain-seconds', '5']);
    try {
      const signalledAt = Date.now();
      sim.child.kill('SIGTERM');
      await until(async () => (await request(`${sim.url}/ready`)).statusCode === 503);
      const models = await request(`${sim.url}/v1/models`);
      assert.equal(models.statusCode, 200, 'still serving during the delay');
      await models.body.dump();
      assert.equal(await sim.exited, 0, sim.err());
      assert.ok(Date.now() - signalledAt >= 5000, 'it served through its 5 s delay before it drained');
      assert.match(sim.err(), /not ready \(\/ready 503\); still serving for 5s/);
    } finally {
      if (sim.child.exitCode === null) sim.child.kill('SIGKILL');
    }
  });
});
