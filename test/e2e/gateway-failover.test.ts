// Kill a replica under load: non-streaming requests all succeed, streams end cleanly, the breaker opens within a
// second, and the replica rejoins by itself when it comes back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { startSim, until, type CliProcess } from '../support/processes.js';

const SIM_ARGS = ['--preset', 'instant', '--overhead-ms', '5', '--itl-ms', '4', '--output-tokens', '20', '--model', 'sim'];

describe('gateway over a pool of sim replicas', () => {
  const sims: (CliProcess & { url: string })[] = [];
  let gateway: GatewayServer;

  before(async () => {
    sims.push(
      ...(await Promise.all([
        startSim([...SIM_ARGS, '--port', '0', '--seed', '1']),
        startSim([...SIM_ARGS, '--port', '0', '--seed', '2']),
        startSim([...SIM_ARGS, '--port', '0', '--seed', '3']),
      ])),
    );
    const yaml = [
      'models:',
      '  chat:',
      '    policy: least_outstanding',
      '    breaker: { failureThreshold: 2, openMs: 500 }',
      '    health: { intervalMs: 200, timeoutMs: 200 }',
      '    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 }',
      '    replicas:',
      ...sims.map((s, i) => `      - { type: openai, id: r${i}, preset: autoglm, baseUrl: "${s.url}/v1", upstreamModel: sim }`),
    ].join('\n');
    gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0 }, seed: 7 });
  });

  after(async () => {
    await gateway?.close();
    for (const s of sims) s.child.kill('SIGKILL');
  });

  async function metric(pattern: RegExp): Promise<number> {
    const text = await (await request(`${gateway.url}/metrics`)).body.text();
    return Number(pattern.exec(text)?.[1] ?? NaN);
  }
  // r1's breaker as 0 closed, 1 half-open, 2 open, read from the series of the state it is in.
  const breaker = async () => {
    const [halfOpen, open] = await Promise.all(
      ['half_open', 'open'].map((state) => metric(new RegExp(`^autoglm_replica_breaker_state\\{model="chat",replica="r1",state="${state}"\\} (\\d)`, 'm'))),
    );
    return open === 1 ? 2 : halfOpen === 1 ? 1 : 0;
  };
  const okOnR1 = () => metric(/^autoglm_replica_requests_total\{model="chat",replica="r1",outcome="ok"\} (\d+)/m);

  it('loses no non-streaming request and hangs no stream while a replica dies and returns', async (t) => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 10_000 });
    const outcomes = { wholeOk: 0, wholeFailed: [] as string[], streamOk: 0, streamCleanError: 0, streamHung: 0 };
    // The load runs until the killed replica has rejoined and served again (or a generous cap), so a slow restart on a
    // busy machine cannot leave the rejoin waiting for traffic that already stopped.
    let loadRunning = true;
    const cap = setTimeout(() => (loadRunning = false), 60_000);
    const worker = async (n: number) => {
      for (let i = 0; loadRunning; i++) {
        const messages = [{ role: 'user' as const, content: `worker ${n} request ${i}` }];
        if ((n + i) % 2 === 0) {
          try {
            const res = await client.chat.completions.create({ model: 'chat', messages });
            assert.equal(res.usage?.completion_tokens, 20);
            outcomes.wholeOk++;
          } catch (err) {
            outcomes.wholeFailed.push(String(err));
          }
        } else {
          try {
            const stream = await client.chat.completions.create({ model: 'chat', messages, stream: true });
            let finished = false;
            for await (const chunk of stream) finished ||= Boolean(chunk.choices[0]?.finish_reason);
            if (finished) outcomes.streamOk++;
            else outcomes.streamHung++;
          } catch (err) {
            if (err instanceof OpenAI.APIConnectionTimeoutError) outcomes.streamHung++;
            else outcomes.streamCleanError++;
          }
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, n) => worker(n)));

    await new Promise((r) => setTimeout(r, 800));
    const port = new URL(sims[1]!.url).port;
    sims[1]!.child.kill('SIGKILL');
    const killedAt = Date.now();
    await until(async () => (await breaker()) === 2, 30_000, 20);
    const openedAfterMs = Date.now() - killedAt;

    await new Promise((r) => setTimeout(r, 700));
    const okBefore = await okOnR1();
    sims[1] = await startSim([...SIM_ARGS, '--port', port, '--seed', '2']);
    await until(async () => (await breaker()) === 0 && (await okOnR1()) > okBefore, 60_000, 50);
    loadRunning = false;
    clearTimeout(cap);

    await load;
    t.diagnostic(`breaker opened ${openedAfterMs} ms after the kill; outcomes ${JSON.stringify(outcomes)}`);
    assert.deepEqual(outcomes.wholeFailed, [], 'no non-streaming request failed');
    assert.equal(outcomes.streamHung, 0, 'no stream hung');
    assert.ok(outcomes.wholeOk > 50 && outcomes.streamOk > 50, JSON.stringify(outcomes));
    assert.ok((await metric(/^autoglm_replica_retries_total\{model="chat",replica="r1"\} (\d+)/m)) >= 1, 'failed attempts were retried elsewhere');
  });
});
