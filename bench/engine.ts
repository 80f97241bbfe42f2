// bench:engine: completion tokens/s through the HTTP server (SSE) vs node-llama-cpp driven directly, same settings.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { getLlama, LlamaLogLevel, type LlamaModel } from 'node-llama-cpp';
import { setPriority } from 'node:os';
import { Pool } from 'undici';

const repoRoot = resolve(import.meta.dirname, '..');
const mirror = process.env.AUTOGLM_MODEL_MIRROR ?? resolve(repoRoot, '../shared/models');
const MODEL = resolve(mirror, 'stories260K.gguf');
const TOKENS = 128;
const REQUESTS_PER_CLIENT = Number(process.env.BENCH_REQUESTS ?? 6);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const THREADS = Number(process.env.BENCH_THREADS ?? 1);
const CONTEXT = 2048;
/** Niceness of the bench process, which doubles as the load generator. */
const CLIENT_NICENESS = 10;
const PROMPTS = ['Once upon a time', 'The little dog', 'One day, a girl named Lily', 'Tom had a big red ball'];

interface Measurement {
  tokens: number;
  seconds: number;
}
const rate = (m: Measurement) => m.tokens / m.seconds;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** node-llama-cpp on its own: `parallel` sequences, each client generating TOKENS tokens per request, back to back. */
async function direct(model: LlamaModel, parallel: number): Promise<Measurement> {
  const context = await model.createContext({ sequences: parallel, contextSize: CONTEXT, threads: THREADS });
  const started = performance.now();
  let tokens = 0;
  await Promise.all(
    Array.from({ length: parallel }, async (_, client) => {
      const sequence = context.getSequence();
      for (let r = 0; r < REQUESTS_PER_CLIENT; r++) {
        await sequence.clearHistory();
        const prompt = [model.tokens.bos!, ...model.tokenize(PROMPTS[client % PROMPTS.length]!)];
        const out = [];
        for await (const token of sequence.evaluate(prompt, { temperature: 0.8, seed: r })) {
          out.push(token);
          if (out.length >= TOKENS) break;
        }
        model.detokenize(out);
        tokens += out.length;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await context.dispose();
  return { tokens, seconds };
}

/** The same workload as SSE streams through `autoglm serve` in its own process. */
async function throughServer(url: string, parallel: number): Promise<Measurement> {
  const pool = new Pool(url, { connections: parallel });
  const started = performance.now();
  let tokens = 0;
  await Promise.all(
    Array.from({ length: parallel }, async (_, client) => {
      for (let r = 0; r < REQUESTS_PER_CLIENT; r++) {
        const { statusCode, body } = await pool.request({
          path: '/v1/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'stories260K',
            prompt: PROMPTS[client % PROMPTS.length],
            max_tokens: TOKENS,
            temperature: 0.8,
            seed: r,
            ignore_eos: true,
            stream: true,
            stream_options: { include_usage: true },
          }),
        });
        if (statusCode !== 200) throw new Error(`server answered ${statusCode}: ${await body.text()}`);
        let tail = '';
        for await (const chunk of body) tail = (tail + String(chunk)).slice(-1024);
        tokens += Number(/"completion_tokens":(\d+)/.exec(tail)?.[1] ?? 0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { tokens, seconds };
}

async function startServer(parallel: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      resolve(repoRoot, 'dist/cli/main.js'),
      'serve',
      '--model',
      MODEL,
      '--port',
      '0',
      '--parallel',
      String(parallel),
      '--threads',
      String(THREADS),
      '--context-size',
      String(CONTEXT),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  return new Promise((resolveStart, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/[\d.:]+)\/v1/.exec(out);
      if (m && out.includes('Ctrl-C')) resolveStart({ url: m[1]!, child });
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

const stop = (child: ChildProcess) =>
  new Promise<void>((r) => {
    child.once('exit', () => r());
    child.kill('SIGINT');
  });

async function main() {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: MODEL });
  const cases = [1, 4] as const;
  const results = new Map<string, number[]>();
  const record = (key: string, m: Measurement) => results.set(key, [...(results.get(key) ?? []), rate(m)]);
  const bar = new SingleBar({ format: 'bench:engine [{bar}] {value}/{total} runs | {step}', stream: process.stderr }, Presets.shades_classic);
  bar.start(REPEATS * cases.length * 2, 0, { step: 'starting' });
  const servers = new Map<number, { url: string; child: ChildProcess }>();
  for (const parallel of cases) servers.set(parallel, await startServer(parallel));
  // This process is also the load generator. Lowered after the servers start (they keep normal priority), it cannot
  // take CPU from the server it measures on a 2-core machine, as a real client on another machine never does; the
  // direct runs, alone on the machine, are unaffected by it.
  setPriority(CLIENT_NICENESS);
  try {
    // Warm both paths once, then interleave repeats so drift on a noisy machine hits both sides alike.
    for (const parallel of cases) {
      await direct(model, parallel);
      await throughServer(servers.get(parallel)!.url, parallel);
    }
    for (let i = 0; i < REPEATS; i++) {
      for (const parallel of cases) {
        bar.update({ step: `direct, parallel ${parallel}` });
        record(`direct-${parallel}`, await direct(model, parallel));
        bar.increment();
        bar.update({ step: `server, parallel ${parallel}` });
        record(`server-${parallel}`, await throughServer(servers.get(parallel)!.url, parallel));
        bar.increment();
      }
    }
  } finally {
    bar.stop();
    for (const s of servers.values()) await stop(s.child);
  }
  const m = (k: string) => median(results.get(k)!);
  const widest = Math.max(...[...results.keys()].map((k) => m(k)));
  const chart = (label: string, k: string) => `${label.padEnd(28)} ${m(k).toFixed(0).padStart(6)} tok/s  ${'#'.repeat(Math.round((m(k) / widest) * 40))}`;
  const throughVsDirect = m('server-4') / m('direct-4');
  const batching = m('server-4') / m('server-1');
  console.log(`\nstories260K, threads ${THREADS}, ${TOKENS} tokens per request, ${REQUESTS_PER_CLIENT} requests per client, median of ${REPEATS}`);
  console.log(chart('direct node-llama-cpp, p=1', 'direct-1'));
  console.log(chart('through server (SSE), p=1', 'server-1'));
  console.log(chart('direct node-llama-cpp, p=4', 'direct-4'));
  console.log(chart('through server (SSE), p=4', 'server-4'));
  console.log(`\nthrough-server / direct at parallel 4: ${throughVsDirect.toFixed(2)}x (target >= 0.90) ${throughVsDirect >= 0.9 ? 'PASS' : 'MISS'}`);
  console.log(`server parallel 4 / parallel 1:        ${batching.toFixed(2)}x (target >= 1.20) ${batching >= 1.2 ? 'PASS' : 'MISS'}`);
  console.log(`through-server / direct at parallel 1: ${(m('server-1') / m('direct-1')).toFixed(2)}x`);
  await model.dispose();
}

await main();
