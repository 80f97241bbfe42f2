// `autoglm models`: the models on this machine (size, quantization, role) and the catalog names not pulled yet.
import type { Command } from 'commander';
import { modelPathsFromEnv } from '../config/index.js';
import { fail } from './errors.js';
import { formatBytes } from './number-options.js';

export function registerModels(program: Command): void {
  program
    .command('models')
    .description('list local models (mirrors, model folders, cache) and the catalog names not yet pulled')
    .action(async () => {
      try {
        const { listLocalModels, loadCatalog, notPulled } = await import('../engines/llama/index.js');
        const paths = modelPathsFromEnv();
        const catalog = await loadCatalog();
        const local = await listLocalModels(paths, catalog);
        const rows: string[][] = [['NAME', 'SIZE', 'QUANT', 'ROLE', 'WHERE']];
        for (const m of local) rows.push([m.catalogName ?? '-', formatBytes(m.size), m.quant, m.role, m.path]);
        for (const e of notPulled(catalog, local)) {
          rows.push([
            e.name,
            e.size ? formatBytes(e.size) : '-',
            e.quant ?? '-',
            e.role,
            `not pulled (autoglm pull ${e.name}): hf:${e.owner}/${e.repo}/${e.file}`,
          ]);
        }
        const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        process.stdout.write(`${rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ')).join('\n')}\n`);
      } catch (err) {
        fail(err);
      }
    });
}
