// bench:embeddings: inputs embedded per second through POST /v1/embeddings (batches of 1 and of 32) vs node-llama-cpp's
// embedding context driven directly in this process, on the same model and settings; medians of interleaved repeats.
// BENCH_INPUTS, BENCH_REPEATS and BENCH_THREADS size it (BENCH_INPUTS=8 BENCH_REPEATS=1 proves it runs).
import type { LlamaModel } from 'node-llama-cpp';
import { Pool } from 'undici';
import { CONTEXT, interleavedRepeats, loadDirectModel, Medians, MODEL, REPEATS, startServe, stopServe, THREADS } from './server-vs-direct.js';

const INPUTS = Number(process.env.BENCH_INPUTS ?? 256);
const BATCHES = [1, 32] as const;

const OPENINGS = ['Once upon a time', 'The little dog', 'One day, a girl named Lily', 'Tom had a big red ball', 'The sun was warm and'];
/** Inputs of a few lengths, each different, as a document's chunks are. */
const inputs = Array.from({ length: INPUTS }, (_, i) => `${OPENINGS[i % OPENINGS.length]} ${'and they played in the park '.repeat(1 + (i % 4))}${i}.`);

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

async function main() {
  const model = await loadDirectModel();
  // `autoglm serve --embeddings-only` from the sources.
  const server = await startServe(
    ['--embeddings-only', '--model', MODEL, '--port', '0', '--threads', String(THREADS), '--context-size', String(CONTEXT), '--database', ':memory:'],
    'sources',
  );
  const results = new Medians();
  try {
    // The server makes its embedding context on the first request: the warm-up pays for it.
    await interleavedRepeats(
      async () => {
        await direct(model);
        for (const batch of BATCHES) await throughServer(server.url, batch);
      },
      async (i) => {
        process.stderr.write(`bench:embeddings repeat ${i + 1}/${REPEATS}\n`);
        results.record('direct', await direct(model));
        for (const batch of BATCHES) results.record(`server-${batch}`, await throughServer(server.url, batch));
      },
    );
  } finally {
    await stopServe(server.child);
    await model.dispose();
  }
  const chart = (label: string, k: string) => results.chart(label, k, 'inputs/s', { labelWidth: 34, digits: 1 });
  console.log(`\nstories260K, threads ${THREADS}, ${INPUTS} inputs, median of ${REPEATS}`);
  console.log(chart('direct node-llama-cpp', 'direct'));
  for (const batch of BATCHES) console.log(chart(`through server, batches of ${batch}`, `server-${batch}`));
  for (const batch of BATCHES)
    console.log(`through-server (batches of ${String(batch).padStart(2)}) / direct: ${(results.of(`server-${batch}`) / results.of('direct')).toFixed(2)}x`);
}

await main();
