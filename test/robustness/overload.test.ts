// Overload on the real engine: stories260K with 2 sequences and a queue of 2, offered 4x what it completes. The excess
// is refused at once with 429 and Retry-After, the engine keeps completing answers at the rate it has at capacity,
// admitted answers wait no longer than the queue allows, and memory stays flat.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { startServer } from '../support/server.js';
import type { LoadOrder, LoadResult } from './load-client.js';

const PARALLEL = 2;
const MAX_QUEUE = 2;
const ROUNDS = 4;
// Fixed work per answer: 96 tokens whatever the model would say, on a prompt whose prefix stays cached. A tiny model's
// answer costs only some milliseconds of CPU, so a short one would make a refusal look dearer than it is next to a
// real model's answer.
const body = JSON.stringify({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 96, ignore_eos: true, temperature: 0 });

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => quantile(xs, 0.5);

interface Window extends LoadResult {
  /** Share of the window's engine samples with every sequence busy. */
  full: number;
  /** Answers per second of the server's CPU time (this process: the client is another one). */
  answersPerCpuSecond: number;
}

describe('overload at 4x capacity on the embedded engine', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let client: ChildProcess;

  /** One window of load from the client process, with what the server did meanwhile. */
  const load = async (order: LoadOrder): Promise<Window> => {
    const samples: boolean[] = [];
    const started = performance.now();
    const cpu = process.cpuUsage();
    const sampler = setInterval(() => {
      const at = performance.now() - started;
      if (at >= order.skipMs && at <= order.ms) samples.push(server.metrics.engineStats()[0]?.busySequences === PARALLEL);
    }, 20);
    client.send(order);
    const [result] = (await once(client, 'message')) as [LoadResult];
    clearInterval(sampler);
    const used = process.cpuUsage(cpu);
    return {
      ...result,
      full: samples.filter(Boolean).length / Math.max(1, samples.length),
      answersPerCpuSecond: result.answered / ((used.user + used.system) / 1e6),
    };
  };

  before(async () => {
    server = await startServer({ parallel: PARALLEL, maxQueue: MAX_QUEUE, contextSize: 256 });
    client = fork(new URL('./load-client.ts', import.meta.url), {
      execArgv: ['--import', import.meta.resolve('tsx')],
      env: { ...process.env, LOAD_URL: server.url, LOAD_BODY: body },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  });
  after(async () => {
    if (client?.connected) {
      client.send('close');
      await once(client, 'exit');
    }
    await server?.close();
  });

  it('refuses the excess with 429 and Retry-After, keeps completing at capacity, and holds memory flat', async (t) => {
    // Warm up (first decode, JIT, connections) before anything is measured; its latency sizes the windows.
    const warm = await load({ kind: 'closed', clients: PARALLEL + MAX_QUEUE, ms: 1500, skipMs: 0 });
    const answerMs = median(warm.latencies);
    // A window holds some ten answers' time however slow the machine is today (within 1-2.5 s), and both kinds skip
    // one answer's time at their start, while the engine goes from idle (or draining) to full.
    const windowMs = Math.min(2500, Math.max(1000, 10 * answerMs));
    const skipMs = Math.min(answerMs, windowMs / 3);
    const capacityOrder: LoadOrder = { kind: 'closed', clients: PARALLEL + MAX_QUEUE, ms: windowMs, skipMs };
    const rss: number[] = [process.memoryUsage().rss];
    const sampler = setInterval(() => rss.push(process.memoryUsage().rss), 100);
    const capacity: Window[] = [];
    const overload: Window[] = [];
    try {
      // Short windows of capacity and overload alternate, and each overload window is compared with the capacity
      // window just before it: a machine whose other work comes and goes moves both sides of a pair alike, and the
      // median over the pairs ignores a pair a burst fell across. Capacity for the offered rate comes from Little's
      // law (clients / mean latency), which a slow window cannot round down to zero answers.
      const capacityOf = (w: Window) => (PARALLEL + MAX_QUEUE) / (mean(w.latencies) / 1000);
      for (let round = 0; round < ROUNDS; round++) {
        capacity.push(await load(capacityOrder));
        const rate = 4 * median([warm, ...capacity].map(capacityOf));
        overload.push(await load({ kind: 'open', rate, ms: windowMs, skipMs }));
      }
    } finally {
      clearInterval(sampler);
    }
    const pairs = overload.map((o, i) => o.answersPerSecond / capacity[i]!.answersPerSecond);
    const ratio = median(pairs);
    const cpuRatio = median(overload.map((o) => o.answersPerCpuSecond)) / median(capacity.map((c) => c.answersPerCpuSecond));
    const refused = overload.reduce((n, o) => n + o.refused, 0);
    const offered = refused + overload.reduce((n, o) => n + o.answered, 0);
    const full = { capacity: mean(capacity.map((c) => c.full)), overload: mean(overload.map((o) => o.full)) };
    const p95 = {
      capacity: quantile(
        capacity.flatMap((c) => c.latencies),
        0.95,
      ),
      overload: quantile(
        overload.flatMap((o) => o.latencies),
        0.95,
      ),
    };
    const list = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
    const mb = (b: number) => (b / 2 ** 20).toFixed(0);
    t.diagnostic(
      `windows of ${windowMs.toFixed(0)} ms; answers/s at capacity: ${list(capacity.map((c) => c.answersPerSecond))}; at 4x: ${list(overload.map((o) => o.answersPerSecond))}; ` +
        `median pair ratio ${ratio.toFixed(2)}x; answers per server CPU-second ${median(capacity.map((c) => c.answersPerCpuSecond)).toFixed(0)} at capacity, ` +
        `${median(overload.map((o) => o.answersPerCpuSecond)).toFixed(0)} at 4x (${cpuRatio.toFixed(2)}x); ${refused} of ${offered} refused; ` +
        `all sequences busy ${(100 * full.capacity).toFixed(0)}% of the time at capacity, ${(100 * full.overload).toFixed(0)}% at 4x; ` +
        `p95 latency ${p95.capacity.toFixed(0)} ms at capacity, ${p95.overload.toFixed(0)} ms at 4x; RSS ${mb(Math.min(...rss))}-${mb(Math.max(...rss))} MB`,
    );

    assert.deepEqual(
      [...capacity, ...overload].flatMap((r) => r.problems),
      [],
      "every answer is a 200, or a 429 with Retry-After in OpenAI's shape",
    );
    // At 4x three in four are refused; a third leaves room for capacity measured high or low on a busy machine.
    assert.ok(refused >= offered / 3, `the excess of 4x is refused (${refused} of ${offered})`);
    // Admission control keeps the engine fed with admitted work: under overload its sequences are all busy at least
    // as much as at capacity. This share hardly depends on how much CPU the machine gives the test.
    assert.ok(
      full.overload >= Math.min(0.9, full.capacity - 0.05),
      `all sequences busy ${(100 * full.overload).toFixed(0)}% of the time at 4x (at capacity: ${(100 * full.capacity).toFixed(0)}%)`,
    );
    // The rates below are collapse checks, not the target: on this shared 2-core machine both move with what other
    // processes take (at 4x the load client offers more refusals per answer when the server is slowed, and each costs
    // CPU), so they measured 0.63x–1.17x by wall clock and 0.70x–0.94x per CPU-second over loaded runs. The property
    // itself, 0.85x on a quiet machine, is measured by `npm run bench:overload`. A server whose refusals cost like
    // answers, or whose queue grew without bound, falls far below these floors.
    assert.ok(cpuRatio >= 0.5, `answers per server CPU-second at 4x hold at ${cpuRatio.toFixed(2)}x those at capacity (>= 0.5x)`);
    assert.ok(ratio >= 0.4, `answers per second at 4x hold at ${ratio.toFixed(2)}x those at capacity (median pair; >= 0.4x)`);
    // A bounded queue bounds the wait: an admitted answer waits for at most the queue ahead of it.
    assert.ok(
      p95.overload <= 4 * p95.capacity + 500,
      `p95 latency at 4x (${p95.overload.toFixed(0)} ms) stays near that at capacity (${p95.capacity.toFixed(0)} ms)`,
    );
    // Refusals leave nothing behind: memory over the whole run stays within a generous band.
    const growth = (Math.max(...rss) - rss[0]!) / 2 ** 20;
    assert.ok(growth < 150, `RSS grew ${growth.toFixed(0)} MB over the run (< 150 MB)`);
  });
});
