// `autoglm index`: the local document index the rag strategy answers from (add files, search it, see what it holds).
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { defaultDatabasePath } from '../config/index.js';
import { DocumentIndex, RemoteEmbedder } from '../retrieval/index.js';
import { fail } from './errors.js';

/** Beside the database by default: $AUTOGLM_DATA_DIR/index.json. */
export const defaultIndexPath = () => join(dirname(defaultDatabasePath()), 'index.json');

interface IndexFlags {
  index?: string;
  embeddingsUrl?: string;
  embeddingsModel?: string;
}

const embedderOf = (flags: IndexFlags) =>
  flags.embeddingsUrl ? new RemoteEmbedder({ baseUrl: flags.embeddingsUrl, model: flags.embeddingsModel ?? 'default', apiKey: process.env.AUTOGLM_EMBEDDINGS_API_KEY }) : undefined;

export function registerIndex(program: Command): void {
  const index = program.command('index').description('the document index for retrieval-augmented answers (strategy rag)');
  const common = (cmd: Command) => cmd
    .option('--index <file>', 'index file (default: $AUTOGLM_DATA_DIR/index.json)')
    .option('--embeddings-url <url>', 'OpenAI-compatible base URL (with /v1) to embed passages with')
    .option('--embeddings-model <name>', 'embedding model name');

  common(index.command('add').description('add text files (or folders of them: .md .txt .rst .html .json .yaml .csv)').argument('<paths...>'))
    .action(async (paths: string[], flags: IndexFlags) => {
      try {
        const file = flags.index ?? defaultIndexPath();
        const idx = DocumentIndex.load(file);
        const bar = new SingleBar({ format: 'indexing [{bar}] {value} files | {file}', stream: process.stderr }, Presets.shades_classic);
        bar.start(0, 0, { file: '' });
        let n = 0;
        const added = await idx.add(paths, embedderOf(flags), (f) => { bar.setTotal(++n); bar.update(n, { file: f }); });
        bar.stop();
        idx.save(file);
        process.stdout.write(`indexed ${added.files} files as ${added.passages} passages; ${idx.size} passages from ${idx.sources.length} files in ${file}\n`);
      } catch (err) {
        fail(err);
      }
    });

  common(index.command('search').description('the passages a question would be answered from').argument('<query>'))
    .option('-k <n>', 'passages to show', Number, 4)
    .action(async (query: string, flags: IndexFlags & { k: number }) => {
      try {
        const idx = DocumentIndex.load(flags.index ?? defaultIndexPath());
        const hits = await idx.search(query, flags.k, embedderOf(flags));
        if (hits.length === 0) process.stdout.write('no passage matches\n');
        hits.forEach((h, i) => process.stdout.write(`[${i + 1}] ${h.source} (score ${h.score})\n    ${h.text.slice(0, 240).replace(/\n/g, ' ')}${h.text.length > 240 ? '...' : ''}\n`));
      } catch (err) {
        fail(err);
      }
    });

  common(index.command('stats').description('what the index holds'))
    .action((flags: IndexFlags) => {
      const file = flags.index ?? defaultIndexPath();
      const idx = DocumentIndex.load(file);
      process.stdout.write(`${file}: ${idx.size} passages from ${idx.sources.length} files\n`);
    });
}
