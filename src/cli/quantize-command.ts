// `autoglm quantize IN OUT --type T`: llama.cpp quantization with a progress bar, the sizes, and a sample generation.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { QUANT_TYPES, modelPathsFromEnv, type QuantType } from '../config/index.js';
import type { LlamaEngine as LlamaEngineType } from '../engines/llama/index.js';
import { complete } from '../core/index.js';
import { fail } from './errors.js';
import { positiveInteger } from './number-options.js';

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

export function registerQuantize(program: Command): void {
  program
    .command('quantize')
    .description('quantize a GGUF model with llama.cpp (e.g. f32 -> q8_0)')
    .argument('<input>', 'GGUF path or model name')
    .argument('<output>', 'where to write the quantized GGUF')
    .requiredOption('--type <type>', `one of ${QUANT_TYPES.join(', ')}`)
    .option('-t, --threads <n>', 'threads for quantization (default: all)', positiveInteger)
    .option('--no-sample', 'skip the sample generation from the result')
    .action(async (input: string, output: string, flags: { type: string; threads?: number; sample: boolean }) => {
      try {
        if (!(QUANT_TYPES as readonly string[]).includes(flags.type)) {
          throw new Error(`unknown --type '${flags.type}'; choose one of ${QUANT_TYPES.join(', ')}`);
        }
        const type = flags.type as QuantType;
        const { quantizeModel, resolveModel } = await import('../engines/llama/index.js');
        const source = await resolveModel(input, modelPathsFromEnv());
        const target = resolve(output);
        const bar = new SingleBar({ format: `quantizing to ${type} [{bar}] {value}/{total} tensors`, stream: process.stderr }, Presets.shades_classic);
        let started = false;
        let tensors = 0;
        const result = await quantizeModel(source.path, target, type, {
          threads: flags.threads,
          onProgress: ({ tensor, tensors: total }) => {
            if (!started) bar.start(total, 0);
            started = true;
            tensors = total;
            bar.update(tensor);
          },
        });
        if (started) bar.stop();
        const ratio = result.outputBytes / result.inputBytes;
        process.stdout.write(
          `${source.path} (${mb(result.inputBytes)}) -> ${target} (${mb(result.outputBytes)}), ${(ratio * 100).toFixed(1)}% of the size, ${tensors} tensors in ${result.seconds.toFixed(2)}s\n`,
        );
        if (flags.sample) await printSample(target);
      } catch (err) {
        fail(err);
      }
    });
}

/** Proves the result loads and generates: the first words a user would want to see. */
async function printSample(path: string): Promise<void> {
  const { LlamaEngine } = await import('../engines/llama/index.js');
  const engine: LlamaEngineType = await LlamaEngine.load({ model: path, parallel: 1, contextSize: 256 });
  try {
    const prompt = 'Once upon a time';
    const result = await complete(
      engine,
      {
        model: engine.description.name,
        input: { type: 'text', text: prompt },
        maxTokens: 48,
        temperature: 0,
        stop: [],
        responseFormat: { type: 'text' },
        n: 1,
      },
      { signal: new AbortController().signal, requestId: 'quantize-sample' },
    );
    process.stdout.write(`sample (greedy, 48 tokens): ${JSON.stringify(prompt + (result.choices[0]?.text ?? ''))}\n`);
  } finally {
    await engine.dispose();
  }
}
