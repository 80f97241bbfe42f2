// `autoglm pull NAME`: downloads a catalog model (or an hf: file) into the cache, resumable and verified.
import type { Command } from 'commander';
import { modelPathsFromEnv } from '../config/index.js';
import { ModelUnavailableError } from '../core/index.js';
import { fail } from './errors.js';

export function registerPull(program: Command): void {
  program
    .command('pull')
    .description('download a model by catalog name (e.g. qwen2.5:0.5b) or hf:owner/repo/file.gguf into the cache')
    .argument('<name>', 'catalog name (autoglm models lists them) or hf:owner/repo/file.gguf')
    .action(async (name: string) => {
      try {
        const { loadCatalog, parseHubSpec, pullToCache } = await import('../engines/llama/index.js');
        const catalog = await loadCatalog();
        const hub = parseHubSpec(name) ?? catalog.lookup(name);
        if (!hub) throw new ModelUnavailableError(`'${name}' is not a catalog name nor hf:owner/repo/file.gguf; autoglm models lists the names`);
        const paths = modelPathsFromEnv();
        const source = `${hub.owner}/${hub.repo}/${hub.file}`;
        let result: Awaited<ReturnType<typeof pullToCache>>;
        try {
          result = await pullToCache(hub, paths);
        } catch (err) {
          throw new ModelUnavailableError(`could not pull ${name} (${source} from ${paths.hfEndpoint}): ${(err as Error).message.split('\n')[0]}`);
        }
        if (!result.downloaded) process.stdout.write(`${name} is already pulled: ${result.path}\n`);
        else {
          const how = [
            result.resumedFrom > 0 ? `resumed at ${result.resumedFrom} bytes` : '',
            result.verifiedSha256 ? `sha256 ${result.verifiedSha256} verified` : 'no sha256 known to verify against',
          ].filter(Boolean);
          process.stdout.write(`pulled ${name} -> ${result.path} (${how.join(', ')})\n`);
        }
      } catch (err) {
        fail(err);
      }
    });
}
