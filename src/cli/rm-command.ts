// `autoglm rm NAME`: deletes one pulled model from the download cache, and nothing outside it.
import type { Command } from 'commander';
import { modelPathsFromEnv } from '../config/index.js';
import { fail } from './errors.js';

export function registerRm(program: Command): void {
  program
    .command('rm')
    .description('delete a pulled model from the download cache')
    .argument('<name>', 'catalog name, hf:owner/repo/file.gguf, or the file name of a model in the cache')
    .action(async (name: string) => {
      try {
        const { loadCatalog, removeCachedModel } = await import('../engines/llama/index.js');
        const removed = await removeCachedModel(name, modelPathsFromEnv(), await loadCatalog());
        process.stdout.write(`deleted ${removed}\n`);
      } catch (err) {
        fail(err);
      }
    });
}
