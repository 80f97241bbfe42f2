// bench:overload: `autoglm serve` (built, in its own process) on stories260K with 2 sequences and a queue of 2, offered
// first what it completes (a closed loop of 4 clients) and then 4x that (an open loop), in interleaved windows. Reports
// the median ratio of answers per second at 4x to those at capacity over the pairs, the same per second of the
// server's own CPU, refusals, p95 latency and the server's RSS, and draws each window's rate.
//
// Why a bench beside the overload test: the test runs inside node:test, whose harness tracks every promise with async
// hooks (measured as about a seventh of the server's CPU there), and beside other suites; this measures the server as
// users run it, on a machine that is otherwise quiet.
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { Pool } from 'undici';
import { writeChart } from './chart-file.js';
import { runLoad, type LoadOrder, type LoadResult } from './overload/load-loop.js';

const repoRoot = resolve(import.meta.dirname, '..');
const MODEL = process.env.OVERLOAD_MODEL ?? resolve(repoRoot, '../shared/models/stories260K.gguf');
const ROUNDS = Number(process.env.OVERLOAD_ROUNDS ?? 8);
const WINDOW_MS = Number(process.env.OVERLOAD_WINDOW_MS ?? 4000);
const PARALLEL = 2;
const MAX_QUEUE = 2;
const CLIENTS = PARALLEL + MAX_QUEUE;
// The overload test's workload: 96 tokens per answer whatever the model would say, on a prompt whose prefix stays cached.
const body = JSON.stringify({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 96, ignore_eos: true, temperature: 0 });

const dir = mkdtempSync(join(tmpdir(), 'autoglm-overload-'));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;

/** The server's CPU seconds so far (user + system), from /proc: it is another process. */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const rssMbOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const args = ['serve', '--model', MODEL, '--alias', 'stories260K', '--parallel', String(PARALLEL), '--max-queue', String(MAX_QUEUE)];
  const child = spawn(process.execPath, [join(repoRoot, 'dist/cli/main.js'), ...args, '--context-size', '256', '--port', '0', '--log-level', 'warn'], {
    cwd: dir,
    env: { ...process.env, AUTOGLM_DATA_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((res, rej) => {
    const onData = (d: Buffer) => {
      out += d;
      const url = /(http:\/\/[\d.:]+)\/v1/.exec(out)?.[1];
      if (url) res({ child, url });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => rej(new Error(`the server exited (${code}) before it was ready:\n${out}`)));
  });
}

interface Window extends LoadResult {
  cpuSeconds: number;
}

async function main(): Promise<void> {
  const { child, url } = await startServer();
  // The load generator gives way to the server it measures: on a 2-core machine its own CPU would otherwise come out
  // of the server's, as a real client on another machine never does (the engine benches do the same).
  setPriority(19);
  const pool = new Pool(url, { connections: 64 });
  const measured = async (order: LoadOrder): Promise<Window> => {
    const cpu = cpuSecondsOf(child.pid!);
    const result = await runLoad(pool, body, order);
    return { ...result, cpuSeconds: cpuSecondsOf(child.pid!) - cpu };
  };
  const capacity: Window[] = [];
  const overload: Window[] = [];
  const rss: number[] = [];
  const bar = new SingleBar({ format: 'overload |{bar}| {value}/{total} windows | {status}' }, Presets.shades_classic);
  try {
    // Warm-up: first decodes, JIT and connections; its rate is the first estimate of capacity.
    const warm = await measured({ kind: 'closed', clients: CLIENTS, ms: 2000, skipMs: 500 });
    const skipMs = Math.min(1000, WINDOW_MS / 4);
    // Capacity by Little's law (clients / mean latency), which a slow window cannot round down to zero answers.
    const capacityOf = (w: Window) => CLIENTS / (mean(w.latencies) / 1000);
    bar.start(2 * ROUNDS, 0, { status: '' });
    for (let round = 0; round < ROUNDS; round++) {
      capacity.push(await measured({ kind: 'closed', clients: CLIENTS, ms: WINDOW_MS, skipMs }));
      bar.increment({ status: `capacity ${capacity.at(-1)!.answersPerSecond.toFixed(1)}/s` });
      const rate = 4 * median([warm, ...capacity].map(capacityOf));
      overload.push(await measured({ kind: 'open', rate, ms: WINDOW_MS, skipMs }));
      rss.push(rssMbOf(child.pid!));
      bar.increment({ status: `4x ${overload.at(-1)!.answersPerSecond.toFixed(1)}/s` });
    }
  } finally {
    bar.stop();
    await pool.close();
    child.kill('SIGTERM');
  }
  const problems = [...capacity, ...overload].flatMap((w) => w.problems);
  const pairs = overload.map((o, i) => o.answersPerSecond / capacity[i]!.answersPerSecond);
  const perCpu = (ws: Window[]) => median(ws.map((w) => w.answered / w.cpuSeconds));
  const refused = overload.reduce((n, o) => n + o.refused, 0);
  const offered = refused + overload.reduce((n, o) => n + o.answered, 0);
  const list = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' ');
  console.log(`answers/s at capacity: ${list(capacity.map((c) => c.answersPerSecond))}`);
  console.log(`answers/s at 4x:       ${list(overload.map((o) => o.answersPerSecond))}`);
  console.log(`median pair ratio (4x / capacity): ${median(pairs).toFixed(2)}x over ${ROUNDS} pairs of ${WINDOW_MS} ms windows`);
  console.log(
    `answers per server CPU-second: ${perCpu(capacity).toFixed(1)} at capacity, ${perCpu(overload).toFixed(1)} at 4x (${(perCpu(overload) / perCpu(capacity)).toFixed(2)}x)`,
  );
  console.log(`refused at 4x: ${refused} of ${offered} (each a 429 with Retry-After); problems: ${problems.length}`);
  console.log(
    `p95 latency: ${quantile(
      capacity.flatMap((c) => c.latencies),
      0.95,
    ).toFixed(0)} ms at capacity, ${quantile(
      overload.flatMap((o) => o.latencies),
      0.95,
    ).toFixed(0)} ms at 4x; server RSS ${Math.min(...rss).toFixed(0)}-${Math.max(...rss).toFixed(0)} MB`,
  );
  for (const p of problems.slice(0, 5)) console.log(`  problem: ${p}`);
  writeChart('overload.svg', {
    title: 'Answers per second, each window (stories260K, 2 sequences, queue 2)',
    xLabel: 'round',
    yLabel: 'answers / s',
    series: [
      { name: 'at capacity', data: capacity.map((c, i) => [i + 1, c.answersPerSecond] as [number, number]) },
      { name: 'at 4x', data: overload.map((o, i) => [i + 1, o.answersPerSecond] as [number, number]) },
    ],
  });
  if (problems.length > 0) process.exitCode = 1;
}

await main();
