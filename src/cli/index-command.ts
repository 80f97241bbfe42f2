// `autoglm index`: the local document index the rag strategy answers from (add files, search it, see what it holds).
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { loadGatewayConfig } from '../config/index.js';
import { seededRandom, systemClock } from '../core/index.js';
import { DocumentIndex, RemoteEmbedder, ServedEmbedder, type Embedder } from '../retrieval/index.js';
import { buildGateway, liveEmbeddings } from '../router/index.js';
import { fail } from './errors.js';
import { positiveInteger } from './number-options.js';

/** In the working directory, where `autoglm serve --index ./index.json` looks for it next. */
export const DEFAULT_INDEX = './index.json';

interface IndexFlags {
  index?: string;
  embeddingsUrl?: string;
  embeddingsModel?: string;
  config?: string;
}

/** What the passages (and a search's question) are embedded with, and the index file, as the flags name them. */
interface Embedding {
  embedder?: Embedder;
  index: string;
  close(): Promise<void>;
}

/**
 * Another server's model by its URL; or, with a gateway config, the model it re-ranks with (or --embeddings-model),
 * embedded in this process through the config's own replicas (sim, a llama GGUF, an openai upstream), so the index's
 * vectors come from the model the gateway will compare questions with.
 */
async function embeddingOf(flags: IndexFlags): Promise<Embedding> {
  const none = async () => undefined;
  if (flags.embeddingsUrl) {
    if (flags.config) throw new Error('--embeddings-url and --config both say where to embed: give one');
    const embedder = new RemoteEmbedder({
      baseUrl: flags.embeddingsUrl,
      model: flags.embeddingsModel ?? 'default',
      apiKey: process.env.AUTOGLM_EMBEDDINGS_API_KEY,
    });
    return { embedder, index: flags.index ?? DEFAULT_INDEX, close: none };
  }
  if (!flags.config) {
    if (flags.embeddingsModel) {
      throw new Error(
        `--embeddings-model ${flags.embeddingsModel} needs where it is served: --config <gateway.yaml> (embedded here, through its replicas) or --embeddings-url <url>`,
      );
    }
    return { index: flags.index ?? DEFAULT_INDEX, close: none };
  }
  const config = await loadGatewayConfig(flags.config);
  const retrieval = config.reasoning.retrieval;
  const index = flags.index ?? retrieval?.index ?? DEFAULT_INDEX;
  const model = flags.embeddingsModel ?? retrieval?.embeddings?.model;
  if (!model) throw new Error(`${flags.config} names no reasoning.retrieval.embeddings.model: name the model to embed with, --embeddings-model <name>`);
  const upstream = retrieval?.embeddings?.baseUrl;
  if (upstream && model === retrieval?.embeddings?.model) {
    const keyEnv = retrieval.embeddings.apiKeyEnv;
    return { embedder: new RemoteEmbedder({ baseUrl: upstream, model, apiKey: keyEnv ? process.env[keyEnv] : undefined }), index, close: none };
  }
  const gateway = await buildGateway(config);
  const embeddings = liveEmbeddings(() => ({ config, pools: gateway.pools }), { clock: systemClock, random: seededRandom(1) });
  const embedder = new ServedEmbedder(model, () => embeddings);
  const available = embedder.available();
  if (!available.includes(model)) {
    await gateway.close();
    throw new Error(
      `${flags.config} has no model '${model}' that embeds (${available.length ? `models that do: ${available.join(', ')}` : 'none of its models embeds'}); name one with --embeddings-model`,
    );
  }
  return { embedder, index, close: () => gateway.close() };
}

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
      .option('--index <file>', `index file (default: the config's reasoning.retrieval.index, else ${DEFAULT_INDEX})`)
      .option('--embeddings-url <url>', 'OpenAI-compatible base URL (with /v1) to embed passages with')
      .option('--embeddings-model <name>', 'embedding model name (recorded in the index: re-ranking must use the same)')
      .option('--config <file>', 'embed in this process with a model of this gateway config (default: the one its reasoning.retrieval re-ranks with)');

  common(index.command('add').description('add text files (or folders of them: .md .txt .rst .html .json .yaml .csv)').argument('<paths...>')).action(
    async (paths: string[], flags: IndexFlags) => {
      let embedding: Embedding | undefined;
      try {
        const missing = paths.filter((p) => !existsSync(p));
        if (missing.length) throw new Error(`${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist`);
        embedding = await embeddingOf(flags);
        const file = embedding.index;
        const idx = existsSync(file) ? openIndex(file) : DocumentIndex.empty();
        const bar = new SingleBar({ format: 'indexing [{bar}] {value} files | {file}', stream: process.stderr }, Presets.shades_classic);
        bar.start(0, 0, { file: '' });
        let n = 0;
        const added = await idx
          .add(paths, embedding.embedder, (f) => {
            bar.setTotal(++n);
            bar.update(n, { file: f });
          })
          .finally(() => bar.stop());
        if (added.files === 0) throw new Error(`no text files in ${paths.join(', ')} (.md .txt .rst .html .json .yaml .csv); ${file} is unchanged`);
        idx.save(file);
        const vectors = idx.embeddingModel ? `, embedded with '${idx.embeddingModel}'` : '';
        process.stdout.write(
          `indexed ${added.files} files as ${added.passages} passages; ${idx.size} passages from ${idx.sources.length} files in ${file}${vectors}\n`,
        );
        await embedding.close();
      } catch (err) {
        await embedding?.close().catch(() => undefined);
        fail(err);
      }
    },
  );

  common(index.command('search').description('the passages a question would be answered from').argument('<query>'))
    .option('-k <n>', 'passages to show', positiveInteger, 4)
    .action(async (query: string, flags: IndexFlags & { k: number }) => {
      let embedding: Embedding | undefined;
      try {
        embedding = await embeddingOf(flags);
        const idx = openIndex(embedding.index);
        if (embedding.embedder) idx.checkEmbeddedWith(embedding.embedder.model, embedding.index);
        const hits = await idx.search(query, flags.k, embedding.embedder);
        if (hits.length === 0) process.stdout.write('no passage matches\n');
        for (const [i, h] of hits.entries()) {
          process.stdout.write(
            `[${i + 1}] ${h.source} (score ${h.score})\n    ${h.text.slice(0, 240).replace(/\n/g, ' ')}${h.text.length > 240 ? '...' : ''}\n`,
          );
        }
        await embedding.close();
      } catch (err) {
        await embedding?.close().catch(() => undefined);
        fail(err);
      }
    });

  common(index.command('stats').description('what the index holds')).action((flags: IndexFlags) => {
    try {
      process.stdout.write(`${indexSummary(flags.index ?? DEFAULT_INDEX)}\n`);
    } catch (err) {
      fail(err);
    }
  });
}
