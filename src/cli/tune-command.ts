// `autoglm tune`: Bayesian optimization (TPE) of the embedded engine's settings. Each trial starts `autoglm serve`
// with the proposed settings, loads it with `bench`, and scores tokens/s under a p99 time-to-first-token objective.
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { stringify } from 'yaml';
import {
  defaultEngineSpace,
  METHODS,
  parseParam,
  trialsToReach,
  tune,
  type Method,
  type Param,
  type Point,
  type Trial,
  type TrialMetrics,
} from '../tune/index.js';
import { fail } from './errors.js';
import { loadGenerator } from './load-generator.js';
import { positiveInteger, positiveNumber } from './number-options.js';

interface TuneFlags {
  model: string;
  param?: string[];
  budget: number;
  methods: string;
  sloTtftMs: number;
  requests: number;
  concurrency: number;
  outputTokens: number;
  trialSeconds: number;
  seed: number;
  state?: string;
  fresh?: boolean;
  out?: string;
}

const defaultSpace = (): Param[] => defaultEngineSpace(availableParallelism());

const flagOf = (name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

const START_SECONDS = 60;

/** Why a trial's server exited before serving: its own one-line error, else its last words, else its exit code. */
function exitReason(stderr: string, code: number | null, signal: NodeJS.Signals | null): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const own = lines.find((l) => l.startsWith('autoglm: error: '));
  if (own) return own.slice('autoglm: error: '.length);
  return lines.at(-1) ?? `it exited with ${signal ?? `code ${code}`}`;
}

/** Starts `autoglm serve` with a trial's settings and resolves with its URL; a server that cannot start stops the run. */
function startTrialServer(args: string[], point: Point): { child: ChildProcess; ready: Promise<{ url: string; model: string }> } {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const ready = new Promise<{ url: string; model: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server for ${show(point)} did not start within ${START_SECONDS} s`)), START_SECONDS * 1000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /serving (\S+) at (http:\/\/[\d.:]+\/v1)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ model: m[1]!, url: m[2]! });
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server for ${show(point)} did not start: ${exitReason(err, code, signal)}`));
    });
  });
  return { child, ready };
}

/** One trial: a server with these settings on a free port, a closed-loop benchmark against it, then the server stops. */
async function measure(point: Point, flags: TuneFlags): Promise<TrialMetrics> {
  const args = ['serve', '--model', flags.model, '--port', '0', '--max-queue', '256'];
  for (const [name, value] of Object.entries(point)) if (value !== 'none') args.push(flagOf(name), String(value));
  const { child, ready } = startTrialServer(args, point);
  try {
    const { url, model } = await ready;
    const { runBench } = await loadGenerator();
    const result = await runBench({
      url,
      model,
      mode: 'closed',
      arrival: 'poisson',
      concurrency: flags.concurrency,
      requests: flags.requests,
      durationSeconds: flags.trialSeconds,
      graceSeconds: Math.max(2, flags.trialSeconds / 2),
      seed: flags.seed,
      workload: { inputTokens: 32, outputTokens: flags.outputTokens, sharedPrefixTokens: 0, prefixGroups: 1, seed: flags.seed },
      slo: {},
      extraBody: { ignore_eos: true },
    });
    return {
      outputTokensPerS: result.throughput.outputTokensPerS,
      ttftP99Ms: result.ttftMs.count ? result.ttftMs.p99 : Infinity,
      e2eP50Ms: result.e2eMs.p50,
      errors: result.requests.errors,
    };
  } finally {
    child.kill('SIGKILL');
  }
}

const show = (p: Point) =>
  Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

function table(method: Method, trials: readonly Trial[]): string {
  const lines = [
    `${method}:`,
    `  ${'#'.padStart(3)}  ${'settings'.padEnd(40)}${'tok/s'.padStart(9)}${'TTFT p99'.padStart(10)}${'errors'.padStart(8)}${'score'.padStart(12)}`,
  ];
  let best = -Infinity;
  for (const t of trials) {
    const mark = t.score > best ? ' *' : '';
    best = Math.max(best, t.score);
    lines.push(
      `  ${String(t.n).padStart(3)}  ${show(t.point).padEnd(40)}${t.metrics.outputTokensPerS.toFixed(0).padStart(9)}${(Number.isFinite(t.metrics.ttftP99Ms) ? t.metrics.ttftP99Ms.toFixed(0) : '-').padStart(10)}${String(t.metrics.errors).padStart(8)}${(t.feasible ? t.score.toFixed(0) : 'infeasible').padStart(12)}${mark}`,
    );
  }
  return lines.join('\n');
}

export function registerTune(program: Command): void {
  program
    .command('tune')
    .description('find the serving settings that give the most tokens/s within a latency objective (Bayesian optimization)')
    .option('-m, --model <spec>', 'model to serve in each trial', 'stories260K')
    .option(
      '-p, --param <specs...>',
      `search space: name=int:MIN:MAX | log:MIN:MAX | logint:MIN:MAX | cat:A,B; a name is a serve flag in camelCase (kvCacheKeyType for --kv-cache-key-type); without it: ${defaultSpace()
        .map((p) => p.name)
        .join(', ')}`,
    )
    .option('-b, --budget <trials>', 'trials per method', positiveInteger, 10)
    .option('--methods <list>', `which searches to run: ${METHODS.join(', ')} (random and grid are baselines on the same budget)`, 'tpe')
    .option('--slo-ttft-ms <ms>', 'objective: p99 time to first token at most this', positiveNumber, 1000)
    .option('--requests <n>', 'requests per trial', positiveInteger, 48)
    .option('--concurrency <n>', 'users per trial', positiveInteger, 8)
    .option('--output-tokens <n>', 'tokens generated per request', positiveInteger, 64)
    .option('--trial-seconds <s>', 'a trial stops sending after this long', positiveNumber, 6)
    .option('--seed <n>', 'seed of the search and the workload', positiveNumber, 1)
    .option('--state <file>', 'keep trials here; a run with the same space, objective and seed resumes from it')
    .option('--fresh', 'with --state: start over, replacing the trials in the file')
    .option('-o, --out <file>', 'write the best settings as YAML')
    .action(async (flags: TuneFlags) => {
      try {
        await runTune(flags);
      } catch (err) {
        fail(err);
      }
    });
}

async function runTune(flags: TuneFlags): Promise<void> {
  const space = flags.param?.length ? flags.param.map(parseParam) : defaultSpace();
  const methods = flags.methods.split(',').map((m) => m.trim()) as Method[];
  const bad = methods.find((m) => !(METHODS as readonly string[]).includes(m));
  if (bad) throw new Error(`unknown method '${bad}'; use ${METHODS.join(', ')}`);
  const objective = { ttftP99Ms: flags.sloTtftMs };
  process.stderr.write(
    `tuning ${flags.model}: ${space.map((p) => p.name).join(', ')}; maximize output tokens/s with p99 TTFT <= ${flags.sloTtftMs} ms; ${flags.budget} trials per method\n`,
  );
  const bar = new SingleBar({ format: 'tune [{bar}] {value}/{total} | {method} | best {best} tok/s | {last}', stream: process.stderr }, Presets.shades_classic);
  bar.start(flags.budget * methods.length, 0, { method: methods[0], best: '-', last: '' });
  let best = -Infinity;
  let done = 0;
  const results = await tune({
    space,
    objective,
    budget: flags.budget,
    methods,
    seed: flags.seed,
    statePath: flags.state,
    fresh: flags.fresh,
    evaluate: (point) => measure(point, flags),
    onTrial: (method, trial) => {
      best = Math.max(best, trial.score);
      bar.update(++done, { method, best: best > 0 ? best.toFixed(0) : '-', last: show(trial.point) });
    },
  }).finally(() => bar.stop());
  const all = methods.flatMap((m) => (results[m] ?? []).map((t) => ({ method: m, trial: t })));
  process.stdout.write(`${methods.map((m) => table(m, results[m] ?? [])).join('\n\n')}\n\n`);
  const feasible = all.filter((t) => t.trial.feasible);
  if (feasible.length === 0) {
    const ttfts = all.map((t) => t.trial.metrics.ttftP99Ms).filter(Number.isFinite);
    const closest = ttfts.length ? `; the lowest TTFT p99 was ${Math.min(...ttfts).toFixed(0)} ms` : '; no trial completed a request';
    throw new Error(
      `no trial met the objective (p99 TTFT <= ${flags.sloTtftMs} ms, with tokens generated)${closest}; no best settings${flags.out ? `, ${flags.out} not written` : ''}`,
    );
  }
  const winner = feasible.reduce((a, b) => (b.trial.score > a.trial.score ? b : a));
  process.stdout.write(
    `best: ${show(winner.trial.point)} -> ${winner.trial.metrics.outputTokensPerS.toFixed(0)} tok/s, TTFT p99 ${winner.trial.metrics.ttftP99Ms.toFixed(0)} ms (${winner.method}, trial ${winner.trial.n})\n`,
  );
  for (const m of methods) {
    const n = trialsToReach(results[m] ?? [], winner.trial.score);
    process.stdout.write(
      `  ${m.padEnd(7)} ${n === undefined ? `did not come within 5% of the best in its ${results[m]?.length ?? 0} trial${results[m]?.length === 1 ? '' : 's'}` : `within 5% of the best after ${n} trial${n === 1 ? '' : 's'}`}\n`,
    );
  }
  if (flags.out) {
    writeFileSync(
      flags.out,
      stringify({
        model: flags.model,
        ...winner.trial.point,
        measured: { outputTokensPerS: Math.round(winner.trial.metrics.outputTokensPerS), ttftP99Ms: Math.round(winner.trial.metrics.ttftP99Ms) },
      }),
    );
    process.stderr.write(
      `wrote ${flags.out}: serve with ${Object.entries(winner.trial.point)
        .filter(([, v]) => v !== 'none')
        .map(([k, v]) => `${flagOf(k)} ${v}`)
        .join(' ')}\n`,
    );
  }
}
