// bench:embeddings: inputs embedded per second through POST /v1/embeddings vs node-llama-cpp's embedding context driven
// directly in this process, on the same model and settings; medians of interleaved repeats. The server is asked in
// batches of 32, and in batches of 1 both one request at a time and with a few requests in flight, as an indexer sends
// them. One request at a time pays an HTTP round trip per input that a direct call never does: the bench measures that
// round trip in the same run and prints the ceiling it sets.
// BENCH_INPUTS, BENCH_REPEATS and BENCH_THREADS size it (BENCH_INPUTS=8 BENCH_REPEATS=1 proves it runs).
import type { LlamaModel } from 'node-llama-cpp';
import { Pool } from 'undici';
import { CONTEXT, interleavedRepeats, loadDirectModel, median, Medians, MODEL, REPEATS, startServe, stopServe, THREADS } from './server-vs-direct.js';

const INPUTS = Number(process.env.BENCH_INPUTS ?? 256);
/**
 * How the server is asked: inputs to a request, and requests in flight. The >= 0.9x target is for the cases that do
 * not wait on the network between inputs.
 */
const CASES = [
  { key: 'server-1', batch: 1, inFlight: 1, label: 'batches of 1, one at a time', targeted: false },
  { key: 'server-1x4', batch: 1, inFlight: 4, label: 'batches of 1, 4 in flight', targeted: true },
  { key: 'server-32', batch: 32, inFlight: 1, label: 'batches of 32, one at a time', targeted: true },
] as const;
const ROUND_TRIPS = 200;

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

/** The same inputs through the server, `batch` to a request, `inFlight` requests at a time on as many connections. */
async function throughServer(url: string, batch: number, inFlight: number): Promise<number> {
  const pool = new Pool(url, { connections: inFlight });
  let next = 0;
  const started = performance.now();
  const sender = async () => {
    while (next < INPUTS) {
      const first = next;
      next += batch;
      const { statusCode, body } = await pool.request({
        path: '/v1/embeddings',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'stories260K', input: inputs.slice(first, first + batch), encoding_format: 'float' }),
      });
      const text = await body.text();
      if (statusCode !== 200) throw new Error(`server answered ${statusCode}: ${text}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, sender));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return INPUTS / seconds;
}

/** The median milliseconds of the server's cheapest answer (GET /health) on a kept-alive connection: the floor under every request. */
async function roundTripMs(url: string): Promise<number> {
  const pool = new Pool(url, { connections: 1 });
  const times: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const started = performance.now();
    const { body } = await pool.request({ path: '/health', method: 'GET' });
    await body.text();
    times.push(performance.now() - started);
  }
  await pool.close();
  return median(times);
}

async function main() {
  const model = await loadDirectModel();
  // `autoglm serve --embeddings-only` from the sources.
  const server = await startServe(
    ['--embeddings-only', '--model', MODEL, '--port', '0', '--threads', String(THREADS), '--context-size', String(CONTEXT), '--database', ':memory:'],
    'sources',
  );
  const results = new Medians();
  const roundTrips: number[] = [];
  try {
    // The server makes its embedding context on the first request: the warm-up pays for it.
    await interleavedRepeats(
      async () => {
        await direct(model);
        for (const c of CASES) await throughServer(server.url, c.batch, c.inFlight);
      },
      async (i) => {
        process.stderr.write(`bench:embeddings repeat ${i + 1}/${REPEATS}\n`);
        results.record('direct', await direct(model));
        for (const c of CASES) results.record(c.key, await throughServer(server.url, c.batch, c.inFlight));
        roundTrips.push(await roundTripMs(server.url));
      },
    );
  } finally {
    await stopServe(server.child);
    await model.dispose();
  }
  const chart = (label: string, k: string) => results.chart(label, k, 'inputs/s', { labelWidth: 46, digits: 1 });
  const directRate = results.of('direct');
  console.log(`
stories260K, threads ${THREADS}, ${INPUTS} inputs, median of ${REPEATS}`);
  console.log(chart('direct node-llama-cpp', 'direct'));
  for (const c of CASES) console.log(chart(`through server, ${c.label}`, c.key));
  for (const c of CASES) {
    const ratio = results.of(c.key) / directRate;
    const verdict = c.targeted ? (ratio >= 0.9 ? '  (target >= 0.9x: met)' : '  (target >= 0.9x: MISSED)') : '';
    console.log(`through server (${c.label}) / direct: ${ratio.toFixed(2)}x${verdict}`);
  }
  // One request at a time, each input waits for a whole round trip: at best direct's time per input plus that.
  const roundTrip = median(roundTrips);
  const ceiling = 1000 / directRate / (1000 / directRate + roundTrip);
  console.log(
    `HTTP round trip (GET /health, median of ${ROUND_TRIPS}): ${roundTrip.toFixed(2)} ms, so one input at a time can reach at most ${ceiling.toFixed(2)}x`,
  );
}

await main();
