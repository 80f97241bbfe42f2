// `autoglm bench`: load against any OpenAI- or Anthropic-compatible URL in its own dialect (--api), open or closed
// loop, with a live bar, a text table, JSON and an HTML report; `--compare a.json b.json` puts two runs side by side.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { DATASETS, type DatasetName } from '../datasets/index.js';
import type { BenchApi, BenchResult } from '../loadgen/index.js';
import { fail } from './errors.js';
import { loadGenerator } from './load-generator.js';
import { nonNegativeNumber, positiveInteger, positiveNumber } from './number-options.js';

/** The dialects `--api` takes; kept here so the CLI's help does not load the load generator. */
const APIS: readonly BenchApi[] = ['chat', 'responses', 'messages'];

interface BenchFlags {
  url: string;
  api: string;
  model?: string;
  apiKey?: string;
  rate?: number;
  arrival: 'constant' | 'poisson';
  concurrency: number;
  requests: number;
  duration?: number;
  dataset?: string;
  datasetsDir?: string;
  inputTokens: number;
  outputTokens: number;
  sharedPrefix: number;
  prefixGroups: number;
  sloTtftMs?: number;
  sloTpotMs?: number;
  sloE2eMs?: number;
  seed: number;
  out?: string;
  html?: string;
  compare?: string[];
  ignoreEos?: boolean;
  quiet?: boolean;
}

/** What a server said in an answer that was not a success: its OpenAI-shaped message, else the start of its text. */
function answerText(status: number, text: string): string {
  let message: string | undefined;
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message;
  } catch {
    // Not JSON: the text itself says it.
  }
  return `HTTP ${status}: ${(message ?? text).replace(/\s+/g, ' ').trim().slice(0, 200) || 'no body'}`;
}

/** The model to load: the one named, else the first the server lists; a refusal is reported as the server gave it. */
async function firstModel(url: string, api: BenchApi, apiKey?: string): Promise<string> {
  const { request } = await import('undici');
  const modelsUrl = `${url.replace(/\/+$/, '')}/models`;
  // Anthropic's API takes its key in x-api-key, on /v1/models as on /v1/messages.
  const auth = !apiKey ? {} : api === 'messages' ? { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01' } : { authorization: `Bearer ${apiKey}` };
  const res = await request(modelsUrl, { headers: auth });
  const text = await res.body.text();
  if (res.statusCode !== 200) {
    const hint =
      res.statusCode === 401
        ? '; pass --api-key or set AUTOGLM_API_KEY'
        : res.statusCode === 404 && !/\/v1\/*$/.test(url)
          ? '; is --url the base URL with /v1?'
          : '';
    throw new Error(`${modelsUrl} answered ${answerText(res.statusCode, text)}${hint}`);
  }
  let id: string | undefined;
  try {
    id = (JSON.parse(text) as { data?: { id: string }[] }).data?.[0]?.id;
  } catch {
    throw new Error(`${modelsUrl} did not answer with JSON; is --url the base URL with /v1?`);
  }
  if (!id) throw new Error(`${modelsUrl} lists no model; pass --model`);
  return id;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('load-test an OpenAI- or Anthropic-compatible server: TTFT, inter-token latency, TPOT, end-to-end percentiles, throughput, goodput')
    .option('-u, --url <url>', 'base URL with /v1', 'http://127.0.0.1:8080/v1')
    .option('--api <dialect>', `the API to speak: ${APIS.join(' | ')} (OpenAI chat completions, OpenAI Responses, Anthropic Messages)`, 'chat')
    .option('-m, --model <name>', 'model to ask (default: the first one the server lists)')
    .option('--api-key <key>', 'API key (default: $AUTOGLM_API_KEY)')
    .option('-r, --rate <req/s>', 'open loop: send at this rate whatever the server does', positiveNumber)
    .option('--arrival <kind>', 'open loop: constant | poisson', 'poisson')
    .option('-c, --concurrency <users>', 'closed loop: users, each waiting for its answer', positiveInteger, 8)
    .option('-n, --requests <n>', 'requests to send', positiveInteger, 200)
    .option('-d, --duration <s>', 'stop sending after this many seconds', nonNegativeNumber)
    .option('--dataset <name>', `prompts from ../shared/datasets: ${DATASETS.join(', ')}`)
    .option('--datasets-dir <dir>', 'the datasets folder')
    .option('--input-tokens <n>', 'synthetic prompts: words per user message', nonNegativeNumber, 64)
    .option('--output-tokens <n>', 'max_tokens of each request', nonNegativeNumber, 128)
    .option('--shared-prefix <n>', 'synthetic prompts: words of a system prompt shared within a group', nonNegativeNumber, 0)
    .option('--prefix-groups <n>', 'synthetic prompts: how many different shared prefixes', nonNegativeNumber, 1)
    .option('--slo-ttft-ms <ms>', 'goodput: time to first token at most this', nonNegativeNumber)
    .option('--slo-tpot-ms <ms>', 'goodput: time per output token at most this', nonNegativeNumber)
    .option('--slo-e2e-ms <ms>', 'goodput: end-to-end latency at most this', nonNegativeNumber)
    .option('--ignore-eos', 'ask the server to generate all max_tokens (vLLM and llama.cpp extension)')
    .option('--seed <n>', 'seed of prompts and arrivals', nonNegativeNumber, 1)
    .option('-o, --out <file>', 'write the results as JSON')
    .option('--html <file>', 'write an HTML report with a latency CDF and throughput over time')
    .option('--compare <files...>', 'compare two JSON results (A then B) instead of running')
    .option('-q, --quiet', 'no progress bar')
    .action(async (flags: BenchFlags) => {
      try {
        if (flags.compare) return await compare(flags);
        await bench(flags);
      } catch (err) {
        fail(err);
      }
    });
}

/** A result written by `bench -o`; anything else is refused with its file named. */
function readResult(file: string): BenchResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`cannot read ${file}`);
  }
  try {
    const result = JSON.parse(text) as BenchResult;
    if (result?.throughput && result.options) return result;
  } catch {
    // Falls through to the same refusal as JSON of the wrong shape.
  }
  throw new Error(`${file} is not a result written by \`autoglm bench -o\``);
}

async function compare(flags: BenchFlags): Promise<void> {
  if (flags.compare!.length !== 2) throw new Error('--compare takes two result files: A and B');
  const { compareReport, compareWarnings, htmlReport } = await loadGenerator();
  const [a, b] = flags.compare!.map(readResult) as [BenchResult, BenchResult];
  for (const w of compareWarnings(a, b)) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(`${compareReport(a, b, [flags.compare![0]!, flags.compare![1]!])}\n`);
  if (flags.html)
    writeFileSync(
      flags.html,
      htmlReport([
        { name: 'A', result: a },
        { name: 'B', result: b },
      ]),
    );
}

async function bench(flags: BenchFlags): Promise<void> {
  if (flags.dataset && !(DATASETS as readonly string[]).includes(flags.dataset))
    throw new Error(`unknown dataset '${flags.dataset}'; use ${DATASETS.join(', ')}`);
  if (flags.arrival !== 'constant' && flags.arrival !== 'poisson') throw new Error('--arrival is constant or poisson');
  if (!(APIS as readonly string[]).includes(flags.api)) throw new Error(`--api is ${APIS.join(', ')}, not '${flags.api}'`);
  const api = flags.api as BenchApi;
  const apiKey = flags.apiKey ?? process.env.AUTOGLM_API_KEY;
  const model = flags.model ?? (await firstModel(flags.url, api, apiKey));
  const { htmlReport, runBench, textReport } = await loadGenerator();
  const bar = flags.quiet
    ? undefined
    : new SingleBar({ format: 'bench [{bar}] {value}/{total} | {ok} ok {errors} failed | {tps} tok/s', stream: process.stderr }, Presets.shades_classic);
  bar?.start(flags.requests, 0, { ok: 0, errors: 0, tps: 0 });
  const result = await runBench({
    url: flags.url,
    model,
    apiKey,
    api,
    mode: flags.rate ? 'open' : 'closed',
    rate: flags.rate,
    arrival: flags.arrival,
    concurrency: flags.concurrency,
    requests: flags.requests,
    durationSeconds: flags.duration,
    seed: flags.seed,
    workload: {
      dataset: flags.dataset as DatasetName | undefined,
      datasetsDir: flags.datasetsDir,
      inputTokens: flags.inputTokens,
      outputTokens: flags.outputTokens,
      sharedPrefixTokens: flags.sharedPrefix,
      prefixGroups: flags.prefixGroups,
      seed: flags.seed,
    },
    slo: { ttftMs: flags.sloTtftMs, tpotMs: flags.sloTpotMs, e2eMs: flags.sloE2eMs },
    extraBody: flags.ignoreEos ? { ignore_eos: true } : undefined,
    onProgress: (done, _total, live) =>
      bar?.update(done, { ok: live.ok, errors: live.errors, tps: Math.round(live.outputTokens / Math.max(0.001, live.elapsedS)) }),
  });
  bar?.stop();
  process.stdout.write(`${textReport(result)}\n`);
  if (flags.out) writeFileSync(flags.out, JSON.stringify(result, null, 2));
  if (flags.html) writeFileSync(flags.html, htmlReport([{ name: model, result }]));
  // A run with no answer measured nothing: its table of zeros must not pass for a result in a script.
  if (result.requests.ok === 0) throw new Error(`every request failed; the first: ${result.errorSamples[0] ?? 'no error recorded'}`);
}
