// bench:engine: completion tokens/s through the HTTP server (SSE) vs node-llama-cpp driven directly, same settings.
// BENCH_BASELINE=<checkout> also runs that checkout's build (`tsc -p .` there first) in the same rounds: an A/B of the
// server against an earlier commit.
import { SingleBar, Presets } from 'cli-progress';
import type { LlamaModel } from 'node-llama-cpp';
import { Pool } from 'undici';
import { CONTEXT, interleavedRepeats, loadDirectModel, Medians, MODEL, startServe, stopServe, THREADS, type BenchServer } from './server-vs-direct.js';

const TOKENS = 128;
const REQUESTS_PER_CLIENT = Number(process.env.BENCH_REQUESTS ?? 6);
const PROMPTS = ['Once upon a time', 'The little dog', 'One day, a girl named Lily', 'Tom had a big red ball'];

interface Measurement {
  tokens: number;
  seconds: number;
}
const rate = (m: Measurement) => m.tokens / m.seconds;

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

const BASELINE = process.env.BENCH_BASELINE;

/** `autoglm serve` from the build (or the baseline checkout's), with `parallel` sequences. */
const startServer = (parallel: number, root?: string): Promise<BenchServer> =>
  startServe(['--model', MODEL, '--port', '0', '--parallel', String(parallel), '--threads', String(THREADS), '--context-size', String(CONTEXT)], 'dist', root);

/** Rounds by default: each is short (about 1.5 s), and the VM's drift between rounds is what the pairing cancels. */
const ROUNDS = Number(process.env.BENCH_REPEATS ?? 7);

async function main() {
  const model = await loadDirectModel();
  const cases = [1, 4] as const;
  const results = new Medians();
  // Each server run sits beside a direct run of the same round, in turns of order; the target is the median of those
  // pair ratios. Medians of each side alone had moved 0.76x to 0.98x between two runs of an unchanged build.
  const pairs = new Medians();
  const bar = new SingleBar({ format: 'bench:engine [{bar}] {value}/{total} runs | {step}', stream: process.stderr }, Presets.shades_classic);
  bar.start(ROUNDS * cases.length * (BASELINE ? 3 : 2), 0, { step: 'starting' });
  const servers = new Map<number, BenchServer>();
  const baselines = new Map<number, BenchServer>();
  for (const parallel of cases) servers.set(parallel, await startServer(parallel));
  if (BASELINE) for (const parallel of cases) baselines.set(parallel, await startServer(parallel, BASELINE));
  const run = async (side: string, parallel: number): Promise<number> => {
    bar.update({ step: `${side}, parallel ${parallel}` });
    const measured =
      side === 'direct' ? await direct(model, parallel) : await throughServer((side === 'server' ? servers : baselines).get(parallel)!.url, parallel);
    bar.increment();
    const tokensPerSecond = rate(measured);
    results.record(`${side}-${parallel}`, tokensPerSecond);
    return tokensPerSecond;
  };
  try {
    await interleavedRepeats(
      async () => {
        for (const parallel of cases) {
          await direct(model, parallel);
          await throughServer(servers.get(parallel)!.url, parallel);
          if (BASELINE) await throughServer(baselines.get(parallel)!.url, parallel);
        }
      },
      async (round) => {
        for (const parallel of cases) {
          const sides = ['direct', 'server', ...(BASELINE ? ['baseline'] : [])];
          if (round % 2) sides.reverse();
          const rates = new Map<string, number>();
          for (const side of sides) rates.set(side, await run(side, parallel));
          pairs.record(`server-${parallel}`, rates.get('server')! / rates.get('direct')!);
          if (BASELINE) pairs.record(`baseline-${parallel}`, rates.get('server')! / rates.get('baseline')!);
        }
      },
      ROUNDS,
    );
  } finally {
    bar.stop();
    for (const s of [...servers.values(), ...baselines.values()]) await stopServe(s.child);
  }
  const m = (k: string) => results.of(k);
  const chart = (label: string, k: string) => results.chart(label, k, 'tok/s', { labelWidth: 28, digits: 0 });
  const paired = (k: string) => pairs.of(k);
  const batching = m('server-4') / m('server-1');
  console.log(
    `\nstories260K, threads ${THREADS}, ${TOKENS} tokens per request, ${REQUESTS_PER_CLIENT} requests per client, median of ${ROUNDS} rounds; ratios are medians of a pair per round`,
  );
  console.log(chart('direct node-llama-cpp, p=1', 'direct-1'));
  console.log(chart('through server (SSE), p=1', 'server-1'));
  console.log(chart('direct node-llama-cpp, p=4', 'direct-4'));
  console.log(chart('through server (SSE), p=4', 'server-4'));
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  for (const p of cases) {
    const ratio = paired(`server-${p}`);
    console.log(`${`through-server / direct at parallel ${p}:`.padEnd(39)} ${ratio.toFixed(2)}x (target >= 0.95) ${verdict(ratio >= 0.95)}`);
  }
  console.log(`server parallel 4 / parallel 1:        ${batching.toFixed(2)}x (target >= 1.30) ${verdict(batching >= 1.3)}`);
  if (BASELINE) {
    console.log(`\nbaseline: ${BASELINE}`);
    console.log(chart('baseline server, p=1', 'baseline-1'));
    console.log(chart('baseline server, p=4', 'baseline-4'));
    for (const p of cases) console.log(`this server / baseline at parallel ${p}: ${paired(`baseline-${p}`).toFixed(2)}x`);
  }
  await model.dispose();
}

await main();
