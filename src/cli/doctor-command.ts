// `autoglm doctor`: what this machine offers the engine, and which models it can find.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { cpus, totalmem, availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { defaultThreads, modelPathsFromEnv } from '../config/index.js';

function ggufFilesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.toLowerCase().endsWith('.gguf'))
    .map((f) => `${f} (${(statSync(join(dir, f)).size / 1e6).toFixed(1)} MB)`);
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('report Node, CPU, GPU backends and the models this machine can serve')
    .action(async () => {
      // Loaded on demand so that other commands (a remote-only gateway, the simulator) never pay for llama.cpp.
      const { findLibllama, gpuBackends } = await import('../engines/llama/index.js');
      const paths = modelPathsFromEnv();
      const gpu = await gpuBackends();
      let libllama: string;
      try {
        libllama = findLibllama();
      } catch (err) {
        libllama = `missing (${(err as Error).message})`;
      }
      const lines = [
        `node        ${process.version} (${process.platform}-${process.arch})${Number(process.versions.node.split('.')[0]) < 20 ? '  <- Node >= 20 required' : ''}`,
        `cpu         ${cpus()[0]?.model ?? 'unknown'}, ${availableParallelism()} cores; default threads ${defaultThreads()}`,
        `memory      ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
        `gpu         usable here: ${gpu.usable.join(', ')}; prebuilt backends for this platform: ${gpu.prebuilt.join(', ')}`,
        `libllama    ${libllama}`,
        `cache       ${paths.cacheDir}`,
        ...[...paths.mirrors.map((d) => ['mirror', d] as const), ...paths.modelDirs.map((d) => ['models', d] as const)].map(([kind, dir]) => {
          const files = ggufFilesIn(dir);
          return `${kind.padEnd(12)}${dir}: ${existsSync(dir) ? (files.length ? files.join(', ') : 'no .gguf files') : 'does not exist'}`;
        }),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
