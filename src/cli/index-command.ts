// `autoglm index`: the local document index the rag strategy answers from (add files, search it, see what it holds).
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { DocumentIndex, RemoteEmbedder } from '../retrieval/index.js';
import { fail } from './errors.js';
import { positiveInteger } from './number-options.js';

/** In the working directory, where `autoglm serve --index ./index.json` looks for it next. */
export const DEFAULT_INDEX = './index.json';

interface IndexFlags {
  index?: string;
  embeddingsUrl?: string;
  embeddingsModel?: string;
}

const embedderOf = (flags: IndexFlags) =>
  flags.embeddingsUrl
    ? new RemoteEmbedder({ baseUrl: flags.embeddingsUrl, model: flags.embeddingsModel ?? 'default', apiKey: process.env.AUTOGLM_EMBEDDINGS_API_KEY })
    : undefined;

/** An index that must exist (to search it or serve from it): a missing or unreadable file is refused with what to do. */
export function openIndex(file: string): DocumentIndex {
  if (!existsSync(file)) throw new Error(`no index at ${file}; build one with \`autoglm index add ./docs${file === DEFAULT_INDEX ? '' : ` --index ${file}`}\``);
  try {
    return DocumentIndex.load(file);
  } catch (err) {
    throw new Error(`${file} is not an index made by \`autoglm index add\` (${(err as Error).message.split('\n')[0]})`);
  }
}

/** What the server banner says of an index: its file and how much it holds. */
export function indexSummary(file: string): string {
  const idx = openIndex(file);
  return `${file} (${idx.size} passage${idx.size === 1 ? '' : 's'} from ${idx.sources.length} file${idx.sources.length === 1 ? '' : 's'})`;
}

export function registerIndex(program: Command): void {
  const index = program.command('index').description('the document index for retrieval-augmented answers (strategy rag)');
  const common = (cmd: Command) =>
    cmd
      .option('--index <file>', `index file (default: ${DEFAULT_INDEX})`, DEFAULT_INDEX)
      .option('--embeddings-url <url>', 'OpenAI-compatible base URL (with /v1) to embed passages with')
      .option('--embeddings-model <name>', 'embedding model name');

  common(index.command('add').description('add text files (or folders of them: .md .txt .rst .html .json .yaml .csv)').argument('<paths...>')).action(
    async (paths: string[], flags: IndexFlags & { index: string }) => {
      try {
        const missing = paths.filter((p) => !existsSync(p));
        if (missing.length) throw new Error(`${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist`);
        const idx = existsSync(flags.index) ? openIndex(flags.index) : DocumentIndex.empty();
        const bar = new SingleBar({ format: 'indexing [{bar}] {value} files | {file}', stream: process.stderr }, Presets.shades_classic);
        bar.start(0, 0, { file: '' });
        let n = 0;
        const added = await idx
          .add(paths, embedderOf(flags), (f) => {
            bar.setTotal(++n);
            bar.update(n, { file: f });
          })
          .finally(() => bar.stop());
        if (added.files === 0) throw new Error(`no text files in ${paths.join(', ')} (.md .txt .rst .html .json .yaml .csv); ${flags.index} is unchanged`);
        idx.save(flags.index);
        process.stdout.write(
          `indexed ${added.files} files as ${added.passages} passages; ${idx.size} passages from ${idx.sources.length} files in ${flags.index}\n`,
        );
      } catch (err) {
        fail(err);
      }
    },
  );

  common(index.command('search').description('the passages a question would be answered from').argument('<query>'))
    .option('-k <n>', 'passages to show', positiveInteger, 4)
    .action(async (query: string, flags: IndexFlags & { index: string; k: number }) => {
      try {
        const hits = await openIndex(flags.index).search(query, flags.k, embedderOf(flags));
        if (hits.length === 0) process.stdout.write('no passage matches\n');
        for (const [i, h] of hits.entries()) {
          process.stdout.write(
            `[${i + 1}] ${h.source} (score ${h.score})\n    ${h.text.slice(0, 240).replace(/\n/g, ' ')}${h.text.length > 240 ? '...' : ''}\n`,
          );
        }
      } catch (err) {
        fail(err);
      }
    });

  common(index.command('stats').description('what the index holds')).action((flags: IndexFlags & { index: string }) => {
    try {
      process.stdout.write(`${indexSummary(flags.index)}\n`);
    } catch (err) {
      fail(err);
    }
  });
}
