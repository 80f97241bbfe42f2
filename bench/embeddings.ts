// bench:embeddings: inputs embedded per second through POST /v1/embeddings (batches of 1 and of 32) vs node-llama-cpp's
// embedding context driven directly in this process, on the same model and settings; medians of interleaved repeats.
// BENCH_INPUTS, BENCH_REPEATS and BENCH_THREADS size it (BENCH_INPUTS=8 BENCH_REPEATS=1 proves it runs).
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { resolve } from 'node:path';
import { getLlama, LlamaLogLevel, type LlamaModel } from 'node-llama-cpp';
import { Pool } from 'undici';

const repoRoot = resolve(import.meta.dirname, '..');
const mirror = process.env.AUTOGLM_MODEL_MIRROR ?? resolve(repoRoot, '../shared/models');
const MODEL = resolve(mirror, 'stories260K.gguf');
const INPUTS = Number(process.env.BENCH_INPUTS ?? 256);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const THREADS = Number(process.env.BENCH_THREADS ?? 1);
const CONTEXT = 2048;
const BATCHES = [1, 32] as const;
/** Niceness of the bench process once the server runs: as the load generator it must not take the server's CPU. */
const CLIENT_NICENESS = 10;

const OPENINGS = ['Once upon a time', 'The little dog', 'One day, a girl named Lily', 'Tom had a big red ball', 'The sun was warm and'];
/** Inputs of a few lengths, each different, as a document's chunks are. */
const inputs = Array.from({ length: INPUTS }, (_, i) => `${OPENINGS[i % OPENINGS.length]} ${'and they played in the park '.repeat(1 + (i % 4))}${i}.`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** node-llama-cpp's embedding context on its own: every input, one after another (it has one sequence). */
async function direct(model: LlamaModel): Promise<number> {
  const context = await model.createEmbeddingContext({ contextSize: CONTEXT, threads: THREADS });
  const started = performance.now();
  for (const text of inputs) await context.getEmbeddingFor(text);
  const seconds = (performance.now() - started) / 1000;
  await context.dispose();
  return INPUTS / seconds;
}

/** The same inputs through the server, `batch` to a request, one request after another. */
async function throughServer(url: string, batch: number): Promise<number> {
  const pool = new Pool(url, { connections: 1 });
  const started = performance.now();
  for (let i = 0; i < INPUTS; i += batch) {
    const { statusCode, body } = await pool.request({
      path: '/v1/embeddings',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', input: inputs.slice(i, i + batch), encoding_format: 'float' }),
    });
    const text = await body.text();
    if (statusCode !== 200) throw new Error(`server answered ${statusCode}: ${text}`);
  }
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return INPUTS / seconds;
}

/** `autoglm serve --embeddings-only` in its own process, from the sources. */
async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const args = ['--import', 'tsx', resolve(repoRoot, 'src/cli/main.ts'), 'serve', '--embeddings-only', '--model', MODEL, '--port', '0'];
  const child = spawn(process.execPath, [...args, '--threads', String(THREADS), '--context-size', String(CONTEXT), '--database', ':memory:'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  const server = await startServer();
  setPriority(CLIENT_NICENESS);
  const results = new Map<string, number[]>();
  const record = (key: string, rate: number) => results.set(key, [...(results.get(key) ?? []), rate]);
  try {
    // Warm both paths once (the server makes its embedding context on the first request), then interleave repeats so
    // drift on a noisy machine hits every side alike.
    await direct(model);
    for (const batch of BATCHES) await throughServer(server.url, batch);
    for (let i = 0; i < REPEATS; i++) {
      process.stderr.write(`bench:embeddings repeat ${i + 1}/${REPEATS}\n`);
      record('direct', await direct(model));
      for (const batch of BATCHES) record(`server-${batch}`, await throughServer(server.url, batch));
    }
  } finally {
    await stop(server.child);
    await model.dispose();
  }
  const m = (k: string) => median(results.get(k)!);
  const widest = Math.max(...[...results.keys()].map(m));
  const chart = (label: string, k: string) => `${label.padEnd(34)} ${m(k).toFixed(1).padStart(8)} inputs/s  ${'#'.repeat(Math.round((m(k) / widest) * 40))}`;
  console.log(`\nstories260K, threads ${THREADS}, ${INPUTS} inputs, median of ${REPEATS}`);
  console.log(chart('direct node-llama-cpp', 'direct'));
  for (const batch of BATCHES) console.log(chart(`through server, batches of ${batch}`, `server-${batch}`));
  for (const batch of BATCHES)
    console.log(`through-server (batches of ${String(batch).padStart(2)}) / direct: ${(m(`server-${batch}`) / m('direct')).toFixed(2)}x`);
}

await main();
