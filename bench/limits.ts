// bench:limits: what tenancy costs a request, in process: key check, limits (memory and Redis) with settling, and
// the ledger row, around a model that answers at once. Medians of interleaved repeats; needs redis-server for Redis.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { complete, type CallContext, type ChatModel, type ChatRequest } from '../src/core/index.js';
import { Tenancy } from '../src/tenancy/index.js';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const CALLS = Number(process.env.BENCH_CALLS ?? 4000);
const CONCURRENCY = 32;

const instant: ChatModel = {
  models: () => [{ id: 'bench', ownedBy: 'bench', created: 0 }],
  async *stream() {
    yield { type: 'text-delta', index: 0, text: 'hi' };
    yield { type: 'finish', index: 0, reason: 'stop' };
    yield { type: 'usage', usage: { promptTokens: 5, completionTokens: 1, cachedPromptTokens: 0 } };
  },
  async complete() {
    return { choices: [{ index: 0, text: 'hi', finishReason: 'stop' }], usage: { promptTokens: 5, completionTokens: 1, cachedPromptTokens: 0 } };
  },
};
const req: ChatRequest = {
  model: 'bench',
  input: { type: 'messages', messages: [{ role: 'user', content: 'hello' }] },
  stop: [],
  responseFormat: { type: 'text' },
  n: 1,
  maxTokens: 16,
};
const bigLimits = { requestsPerMinute: 1e9, tokensPerMinute: 1e9, maxConcurrent: 1e6, tokensPerDay: 1e12 };

async function startRedis(): Promise<{ url: string; stop(): void }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

/** Microseconds per call, CONCURRENCY calls at a time, each one authenticated first as the HTTP layer does. */
async function perCall(run: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CALLS) await run(next++);
    }),
  );
  return ((performance.now() - started) * 1000) / CALLS;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'autoglm-bench-limits-'));
  const redis = await startRedis();
  const setups = {
    'no tenancy': undefined,
    'auth + ledger, no limits': await Tenancy.open({ auth: { enabled: true }, database: join(dir, 'a.db'), tenants: { t: { limits: {} } } }),
    'auth + ledger + memory limits': await Tenancy.open({ auth: { enabled: true }, database: join(dir, 'b.db'), tenants: { t: { limits: bigLimits } } }),
    'auth + ledger + Redis limits': await Tenancy.open({
      auth: { enabled: true },
      database: join(dir, 'c.db'),
      redis: redis.url,
      tenants: { t: { limits: bigLimits } },
    }),
  };
  const runners = Object.entries(setups).map(([name, tenancy]) => {
    const key = tenancy?.store.createKey({ tenant: 't' }).key;
    const model = tenancy ? tenancy.wrap(instant) : instant;
    return {
      name,
      run: (i: number) => {
        const principal = tenancy?.principal(`Bearer ${key}`, 'inference');
        const ctx: CallContext = {
          signal: new AbortController().signal,
          requestId: `r${i}`,
          tenant: principal?.tenant,
          keyId: principal?.keyId ?? undefined,
          report: { headers: {} },
        };
        return complete(model, req, ctx);
      },
    };
  });
  const results = new Map(runners.map((r) => [r.name, [] as number[]]));
  const bar = new SingleBar({ format: 'bench:limits [{bar}] {value}/{total} | {step}', stream: process.stderr }, Presets.shades_classic);
  bar.start(REPEATS * runners.length, 0, { step: 'warming up' });
  for (const r of runners) await perCall(r.run);
  for (let i = 0; i < REPEATS; i++) {
    for (const r of runners) {
      bar.update({ step: r.name });
      results.get(r.name)!.push(await perCall(r.run));
      bar.increment();
    }
  }
  bar.stop();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(results.get('no tenancy')!);
  console.log(`\n${CALLS} calls, ${CONCURRENCY} at a time, median of ${REPEATS}; wall time per request (1 / throughput), so Redis round trips count`);
  for (const [name, xs] of results) {
    const m = median(xs);
    console.log(`${name.padEnd(32)} ${m.toFixed(1).padStart(7)} µs   overhead ${(m - base).toFixed(1).padStart(6)} µs  ${'#'.repeat(Math.round(m / 5))}`);
  }
  for (const t of Object.values(setups)) await t?.close();
  redis.stop();
}

await main();
