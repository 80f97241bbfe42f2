// `autoglm optimize`: searches a prompt for a model on a dataset (instructions, demonstrations, strategy) on its
// train and dev splits, measures the best against the baseline prompt on the held-out test split, and writes it as
// the next version of a managed prompt, loadable as the gateway config's `prompts:`.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { loadGatewayConfig, reasoningConfigSchema, versionedName, type GatewayConfig, type ReasoningConfig } from '../config/index.js';
import type { ChatModel } from '../core/index.js';
import { DATASETS, datasetsDir, loadDataset, type DatasetItem, type DatasetName } from '../datasets/index.js';
import { SimEngine } from '../engines/sim/index.js';
import { wilson } from '../eval/index.js';
import { BASELINE, candidateTemplate, optimize, promptYaml, scoreItems, type Candidate, type OptimizeResult, type Score } from '../optimize/index.js';
import { withReasoning } from '../reasoning/index.js';
import { buildGateway } from '../router/index.js';
import { fail } from './errors.js';
import { anyNumber, positiveInteger, probability } from './number-options.js';

interface OptimizeFlags {
  config?: string;
  model?: string;
  simSolver?: number;
  dataset: string;
  train: number;
  dev: number;
  test: number;
  budget: number;
  out?: string;
  name?: string;
  state?: string;
  fresh?: boolean;
  randomSearch?: boolean;
  seed: number;
  concurrency: number;
  maxTokens?: number;
  datasetsDir?: string;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function registerOptimize(program: Command): void {
  program
    .command('optimize')
    .description('search a prompt (instruction, demonstrations, strategy) for a model on a dataset and write it as a managed prompt')
    .option('--config <file>', 'gateway config whose model to optimize for')
    .option('-m, --model <name>', 'model of the config')
    .option('--sim-solver <p>', 'optimize for the prompt-sensitive simulator, right with probability p on a bare question', probability)
    .option('-d, --dataset <name>', `one of ${DATASETS.join(', ')}`, 'gsm8k')
    .option('--train <n>', 'items to bootstrap demonstrations from (the first of the dataset)', positiveInteger, 50)
    .option('--dev <n>', 'items the search measures candidates on (the next ones)', positiveInteger, 150)
    .option('--test <n>', 'held-out items the best and the baseline are measured on (the next ones)', positiveInteger, 300)
    .option('--budget <passes>', 'dev passes the search may spend: at most passes x dev model calls on dev items', positiveInteger, 40)
    .option('-o, --out <file>', 'write the prompt there (YAML under prompts:, as the next version when the file has one)')
    .option('--name <name>', "the prompt's name (default: DATASET-solver)")
    .option('--state <file>', 'keep the search in this file, so a stopped run resumes where it was')
    .option('--fresh', 'start over even if --state holds a search')
    .option('--random-search', 'measure uniformly drawn candidates on the whole dev split instead (the baseline search)')
    .option('--seed <n>', 'seed of the search and of the model calls', anyNumber, 1)
    .option('-c, --concurrency <n>', 'items measured at once', positiveInteger, 8)
    .option('--max-tokens <n>', 'max_tokens of each call', positiveInteger)
    .option('--datasets-dir <dir>', 'the datasets folder (default: $AUTOGLM_DATASETS_DIR or ../shared/datasets)')
    .action(async (flags: OptimizeFlags) => {
      try {
        await runOptimize(flags);
      } catch (err) {
        fail(err);
      }
    });
}

function splits(flags: OptimizeFlags): { train: DatasetItem[]; dev: DatasetItem[]; test: DatasetItem[] } {
  if (!(DATASETS as readonly string[]).includes(flags.dataset)) throw new Error(`unknown dataset '${flags.dataset}'; use ${DATASETS.join(', ')}`);
  const dir = flags.datasetsDir ?? datasetsDir();
  let items: DatasetItem[];
  try {
    items = loadDataset(flags.dataset as DatasetName, dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { path?: string };
    if (e.code === 'ENOENT')
      throw new Error(`no ${flags.dataset} dataset at ${e.path ?? dir}; point --datasets-dir or AUTOGLM_DATASETS_DIR at the datasets folder`);
    throw err;
  }
  const need = flags.train + flags.dev + flags.test;
  if (need > items.length)
    throw new Error(`--train ${flags.train} + --dev ${flags.dev} + --test ${flags.test} is ${need} items; ${flags.dataset} has ${items.length}`);
  return {
    train: items.slice(0, flags.train),
    dev: items.slice(flags.train, flags.train + flags.dev),
    test: items.slice(flags.train + flags.dev, need),
  };
}

async function target(flags: OptimizeFlags): Promise<{ model: ChatModel; name: string; reasoning: ReasoningConfig; what: string; close(): Promise<void> }> {
  if (flags.simSolver !== undefined) {
    const engine = new SimEngine({
      model: 'sim',
      preset: 'instant',
      solver: { dataset: flags.dataset, p: flags.simSolver, datasetsDir: flags.datasetsDir, promptSensitive: true },
    });
    return {
      model: engine,
      name: 'sim',
      reasoning: reasoningConfigSchema.parse({}),
      what: `prompt-sensitive sim p=${flags.simSolver}`,
      close: async () => undefined,
    };
  }
  if (!flags.config) throw new Error('say what to optimize for: --sim-solver P, or --config FILE with --model NAME');
  const config = await loadGatewayConfig(flags.config);
  const name = flags.model ?? Object.keys(config.models)[0]!;
  const release = config.releases[name];
  if (release)
    throw new Error(`'${name}' in ${flags.config} is a release; optimize for one of its versions, e.g. --model ${versionedName(name, release.stable)}`);
  if (!config.models[name]) throw new Error(`no model '${name}' in ${flags.config}; its models are ${Object.keys(config.models).join(', ')}`);
  // Only the model optimized for is built, so an unrelated replica that cannot load does not stop the search.
  const models: GatewayConfig['models'] = { [name]: config.models[name]! };
  const gateway = await buildGateway({ ...config, models, releases: {} });
  return { model: gateway.router, name, reasoning: config.reasoning, what: `${name} from ${flags.config}`, close: () => gateway.close() };
}

/** A bar of dev calls against the budget on a terminal; elsewhere nothing until the report. */
function progress(method: string) {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    { format: `${method.padEnd(6)} [{bar}] {value}/{total} dev calls`, stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update: (value: number, total: number) => {
      if (!started) bar.start(total, 0);
      started = true;
      bar.update(Math.min(value, total));
    },
    stop: () => started && bar.stop(),
  };
}

function trialTable(result: OptimizeResult): string {
  const rows = [
    `${'#'.padStart(4)} ${'round'.padStart(5)} ${'strategy'.padEnd(8)} ${'demos'.padStart(5)} ${'items'.padStart(5)} ${'accuracy'.padStart(8)} ${'calls'.padStart(7)}  instruction`,
  ];
  for (const t of result.trials) {
    rows.push(
      `${String(t.n).padStart(4)} ${String(t.round).padStart(5)} ${t.candidate.strategy.padEnd(8)} ${String(t.candidate.demos).padStart(5)} ${String(t.items).padStart(5)} ${pct(t.accuracy).padStart(8)} ${String(t.devCalls).padStart(7)}  ${clip(t.candidate.instruction || '(none)', 60)}${t.probe ? '  (probe)' : ''}`,
    );
  }
  return rows.join('\n');
}

const scoreLine = (label: string, s: Score) => {
  const [lo, hi] = wilson(s.correct, s.items);
  return `${label.padEnd(10)}${pct(s.accuracy).padStart(9)}${`${pct(lo)}-${pct(hi)}`.padStart(16)}${(s.calls / s.items).toFixed(2).padStart(8)}${(s.tokens / s.items).toFixed(0).padStart(9)}`;
};

async function runOptimize(flags: OptimizeFlags): Promise<void> {
  const { train, dev, test } = splits(flags);
  const t = await target(flags);
  const model = withReasoning(t.model, t.reasoning);
  const method = flags.randomSearch ? 'random' : 'tpe';
  const bar = progress(method);
  let result: OptimizeResult;
  let best: Score;
  let baseline: Score;
  try {
    result = await optimize({
      model,
      modelName: t.name,
      dataset: flags.dataset,
      train,
      dev,
      budget: flags.budget,
      method,
      seed: flags.seed,
      concurrency: flags.concurrency,
      maxTokens: flags.maxTokens,
      statePath: flags.state,
      fresh: flags.fresh,
      onCalls: (value, total) => bar.update(value, total),
    });
    bar.stop();
    const scoring = {
      model,
      modelName: t.name,
      seed: flags.seed + 1,
      concurrency: flags.concurrency,
      maxTokens: flags.maxTokens,
      demos: result.demos,
      memo: {},
    };
    best = await scoreItems(result.recommended, test, 'test', scoring);
    baseline = await scoreItems(BASELINE, test, 'test', scoring);
  } finally {
    bar.stop();
    await t.close();
  }
  const out = process.stdout;
  out.write(`\n${flags.dataset}, ${t.what}, ${method === 'tpe' ? 'TPE with successive halving' : 'random search'}\n`);
  out.write(`${trialTable(result)}\n\n`);
  out.write(
    `search: ${result.trials.length} trials, ${result.devCalls} of ${result.budgetCalls} dev calls (${flags.budget} passes of ${dev.length} items), ${result.trainCalls} train calls for ${result.demos.length} demonstrations, ${result.metaCalls} proposal calls; stopped by ${result.stopped}\n`,
  );
  const prompt = (c: Candidate) => `${c.strategy}, ${c.demos} demonstrations, instruction: ${c.instruction ? JSON.stringify(c.instruction) : '(none)'}`;
  out.write(`best: ${prompt(result.recommended)}\n\n`);
  out.write(
    `held-out test split, ${test.length} items\n${'prompt'.padEnd(10)}${'accuracy'.padStart(9)}${'95% interval'.padStart(16)}${'calls'.padStart(8)}${'tokens'.padStart(9)}\n`,
  );
  out.write(`${scoreLine('best', best)}\n${scoreLine('baseline', baseline)}\n`);
  out.write(`difference: ${((best.accuracy - baseline.accuracy) * 100).toFixed(1)} points\n`);
  if (flags.out) {
    const name = flags.name ?? `${flags.dataset.replace(/\//g, '-')}-solver`;
    const template = { ...candidateTemplate(result.recommended, result.demos, name) };
    const { version: _v, ...body } = template;
    const note = `autoglm optimize: ${flags.dataset}, ${t.what}, test accuracy ${pct(best.accuracy)} (baseline ${pct(baseline.accuracy)}) on ${test.length} items`;
    const { text, version } = promptYaml(flags.out, body, note);
    writeFileSync(flags.out, text);
    process.stderr.write(`wrote ${name}@${version} to ${flags.out}\n`);
  }
}
