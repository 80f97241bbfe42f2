// `autoglm eval`: a dataset through a model with several strategies (accuracy, calls, tokens, latency, a chart), or
// `--classifier`: the task parser's accuracy per class on a held-out set.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { MultiBar, Presets } from 'cli-progress';
import { loadGatewayConfig, reasoningConfigSchema, versionedName, type GatewayConfig, type ReasoningConfig } from '../config/index.js';
import type { ChatModel } from '../core/index.js';
import { DATASETS, datasetsDir, loadDataset, type DatasetName } from '../datasets/index.js';
import { SimEngine } from '../engines/sim/index.js';
import { accuracyChart, evaluate, evaluateClassifier, parseStrategySpec, predictedVoteAccuracy, type StrategyReport } from '../eval/index.js';
import { withReasoning } from '../reasoning/index.js';
import { buildGateway } from '../router/index.js';
import { fail } from './errors.js';
import { anyNumber, positiveInteger, probability } from './number-options.js';

interface EvalFlags {
  dataset: string;
  strategies: string;
  limit?: number;
  config?: string;
  model?: string;
  simSolver?: number;
  concurrency: number;
  seed: number;
  maxTokens?: number;
  out?: string;
  chart?: string;
  classifier?: boolean;
  perSource: number;
  datasetsDir?: string;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('accuracy of a model and reasoning strategies on a dataset (or of the task parser, with --classifier)')
    .option('-d, --dataset <name>', `one of ${DATASETS.join(', ')}`, 'gsm8k')
    .option('-s, --strategies <list>', 'comma-separated: direct, cot, plan, reflect, auto, sc@N, asc@N, bon@N', 'direct,sc@8,asc@8')
    .option('-n, --limit <items>', 'first N items of the dataset', positiveInteger)
    .option('--config <file>', 'gateway config whose models to evaluate')
    .option('-m, --model <name>', 'model of the config to evaluate')
    .option('--sim-solver <p>', 'evaluate the simulator in solver mode, right with probability p', probability)
    .option('-c, --concurrency <n>', 'items evaluated at once', positiveInteger, 16)
    .option('--seed <n>', 'base seed: the same seed gives the same draws', anyNumber, 1)
    .option('--max-tokens <n>', 'max_tokens of each call', positiveInteger)
    .option('-o, --out <file>', 'write every item result as JSON')
    .option('--chart <file>', 'write an SVG chart of accuracy against tokens')
    .option('--classifier', 'measure the task parser on a held-out set built from the datasets')
    .option('--per-source <n>', 'with --classifier: items per dataset', positiveInteger, 100)
    .option('--datasets-dir <dir>', 'the datasets folder (default: $AUTOGLM_DATASETS_DIR or ../shared/datasets)')
    .action(async (flags: EvalFlags) => {
      try {
        if (flags.classifier) return classifierReport(flags);
        await runEval(flags);
      } catch (err) {
        fail(err);
      }
    });
}

function classifierReport(flags: EvalFlags): void {
  const { rows, overall, items, written } = evaluateClassifier(flags.perSource, flags.datasetsDir ?? datasetsDir());
  process.stdout.write(
    `task parser on ${items} held-out items (every k-th item of each dataset, ${flags.perSource} per dataset, and ${written} written requests for summarization, open QA and chat)\n`,
  );
  process.stdout.write(`${'class'.padEnd(16)}${'items'.padStart(7)}${'accuracy'.padStart(10)}  mistaken for\n`);
  for (const r of rows) {
    process.stdout.write(
      `${r.task.padEnd(16)}${String(r.items).padStart(7)}${pct(r.accuracy).padStart(10)}  ${r.confusedWith.map(([t, n]) => `${t} ${n}`).join(', ')}\n`,
    );
  }
  process.stdout.write(`${'all'.padEnd(16)}${String(items).padStart(7)}${pct(overall).padStart(10)}\n`);
}

async function modelUnderTest(flags: EvalFlags): Promise<{ model: ChatModel; name: string; reasoning: ReasoningConfig; close(): Promise<void> }> {
  if (flags.simSolver !== undefined) {
    const engine = new SimEngine({ model: 'sim', preset: 'instant', solver: { dataset: flags.dataset, p: flags.simSolver, datasetsDir: flags.datasetsDir } });
    return { model: engine, name: 'sim', reasoning: reasoningConfigSchema.parse({}), close: async () => undefined };
  }
  if (!flags.config) throw new Error('say what to evaluate: --sim-solver P, or --config FILE with --model NAME');
  const config = await loadGatewayConfig(flags.config);
  const name = flags.model ?? Object.keys(config.models)[0]!;
  // Only the pools the evaluation calls are built, so an unrelated replica that cannot load does not stop it.
  const gateway = await buildGateway({ ...config, models: modelsUsed(config, name, flags.config), releases: {} });
  return { model: gateway.router, name, reasoning: config.reasoning, close: () => gateway.close() };
}

/** The model evaluated and the cascade's larger models it may escalate to; a name the config lacks is refused. */
function modelsUsed(config: GatewayConfig, name: string, file: string): GatewayConfig['models'] {
  const release = config.releases[name];
  if (release) throw new Error(`'${name}' in ${file} is a release; evaluate one of its versions, e.g. --model ${versionedName(name, release.stable)}`);
  if (!config.models[name]) throw new Error(`no model '${name}' in ${file}; its models are ${Object.keys(config.models).join(', ')}`);
  const used: GatewayConfig['models'] = {};
  for (let m: string | undefined = name; m && config.models[m] && !used[m]; m = config.reasoning.cascade[m]) used[m] = config.models[m]!;
  return used;
}

/** A bar per strategy on a terminal; elsewhere (a log, CI) one line as each strategy finishes. */
function progress(total: number) {
  if (process.stderr.isTTY) {
    const bars = new MultiBar({ format: '{strategy} [{bar}] {value}/{total} items', stream: process.stderr, hideCursor: true }, Presets.shades_classic);
    return {
      strategy: (label: string) => {
        const bar = bars.create(total, 0, { strategy: label.padEnd(8) });
        return { item: () => bar.increment(), done: () => undefined };
      },
      stop: () => bars.stop(),
    };
  }
  return {
    strategy: (label: string) => {
      let n = 0;
      const started = performance.now();
      return {
        item: () => void n++,
        done: () => process.stderr.write(`${label.padEnd(8)} ${n}/${total} items in ${((performance.now() - started) / 1000).toFixed(1)} s\n`),
      };
    },
    stop: () => undefined,
  };
}

/** The items to evaluate; a datasets folder that lacks the file is named, with how to point at the right one. */
function datasetItems(flags: EvalFlags) {
  const dir = flags.datasetsDir ?? datasetsDir();
  try {
    return loadDataset(flags.dataset as DatasetName, dir).slice(0, flags.limit);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { path?: string };
    if (e.code === 'ENOENT')
      throw new Error(`no ${flags.dataset} dataset at ${e.path ?? dir}; point --datasets-dir or AUTOGLM_DATASETS_DIR at the datasets folder`);
    throw err;
  }
}

async function runEval(flags: EvalFlags): Promise<void> {
  const specs = flags.strategies.split(',').map((s) => parseStrategySpec(s.trim()));
  if (!(DATASETS as readonly string[]).includes(flags.dataset)) throw new Error(`unknown dataset '${flags.dataset}'; use ${DATASETS.join(', ')}`);
  const items = datasetItems(flags);
  const target = await modelUnderTest(flags);
  const model = withReasoning(target.model, target.reasoning);
  const bars = progress(items.length);
  const reports: StrategyReport[] = [];
  try {
    for (const spec of specs) {
      const bar = bars.strategy(spec.label);
      reports.push(
        await evaluate(model, target.name, items, spec, { concurrency: flags.concurrency, seed: flags.seed, maxTokens: flags.maxTokens, onItem: bar.item }),
      );
      bar.done();
    }
  } finally {
    bars.stop();
    await target.close();
  }
  const what = flags.simSolver !== undefined ? `sim solver p=${flags.simSolver}` : `${target.name} from ${flags.config}`;
  process.stdout.write(`\n${flags.dataset}, ${items.length} items, ${what}\n`);
  process.stdout.write(
    `${'strategy'.padEnd(10)}${'accuracy'.padStart(10)}${'95% interval'.padStart(17)}${'calls'.padStart(8)}${'samples'.padStart(9)}${'tokens'.padStart(9)}${'ms/item'.padStart(9)}${flags.simSolver !== undefined ? '  predicted' : ''}\n`,
  );
  for (const r of reports) {
    const spec = specs.find((s) => s.label === r.strategy)!;
    const n = spec.strategy === 'sc' ? (spec.options.samples ?? 8) : spec.strategy === 'direct' ? 1 : undefined;
    const predicted = flags.simSolver !== undefined && n !== undefined ? `  ${pct(predictedVoteAccuracy(flags.simSolver, n))}` : '';
    process.stdout.write(
      `${r.strategy.padEnd(10)}${pct(r.accuracy).padStart(10)}${`${pct(r.ci95[0])}-${pct(r.ci95[1])}`.padStart(17)}${r.callsPerItem.toFixed(2).padStart(8)}${r.samplesPerItem.toFixed(2).padStart(9)}${r.tokensPerItem.toFixed(0).padStart(9)}${r.latencyMsPerItem.toFixed(1).padStart(9)}${predicted}${r.errors ? `  (${r.errors} failed: ${r.results.find((x) => x.error)!.error})` : ''}\n`,
    );
  }
  const sc = reports.find((r) => r.strategy.startsWith('sc@'));
  const asc = reports.find((r) => r.strategy.startsWith('asc@'));
  if (sc && asc) {
    process.stdout.write(
      `\nadaptive vs fixed self-consistency: accuracy ${((asc.accuracy - sc.accuracy) * 100).toFixed(2)} points, samples ${((1 - asc.samplesPerItem / sc.samplesPerItem) * 100).toFixed(1)}% fewer\n`,
    );
  }
  if (flags.out) writeFileSync(flags.out, JSON.stringify({ dataset: flags.dataset, items: items.length, model: what, reports }, null, 2));
  if (flags.chart) writeFileSync(flags.chart, accuracyChart(reports, `${flags.dataset}: ${what}`));
  if (flags.out || flags.chart) process.stderr.write(`wrote ${[flags.out, flags.chart].filter(Boolean).join(' and ')}\n`);
}
