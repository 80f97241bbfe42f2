// A local document index for retrieval-augmented answers: files split into passages, searched with BM25
// (MiniSearch), optionally re-ranked by embeddings: of an OpenAI-compatible /v1/embeddings endpoint, or of a model this
// process serves. The index records the model its vectors come from, so a question is never compared with another's.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import MiniSearch from 'minisearch';
import type { EmbeddingModel } from '../core/index.js';
import { RemoteEmbedder, ServedEmbedder, type EmbedCall, type Embedder } from './embedder.js';
import { htmlText } from './html-text.js';

export interface Passage {
  id: number;
  source: string;
  text: string;
  vector?: number[];
}

export interface Hit {
  source: string;
  text: string;
  score: number;
}

const TEXT_FILES = new Set(['.md', '.markdown', '.txt', '.rst', '.adoc', '.html', '.htm', '.csv', '.json', '.yaml', '.yml']);
/** Passages of about this many characters: long enough to carry a fact with its context, short enough to fit several. */
const PASSAGE_CHARS = 800;

const miniSearchOptions = { fields: ['text', 'source'], storeFields: ['text', 'source'], searchOptions: { boost: { text: 2 }, prefix: true, fuzzy: 0.1 } };

const HTML_FILES = new Set(['.html', '.htm']);

/**
 * Paragraphs packed into passages of about PASSAGE_CHARS; a paragraph longer than that is cut at sentence ends. Only
 * HTML has markup to drop: `<task>` in Markdown or plain text is text.
 */
export function splitPassages(text: string, format: 'text' | 'html' = 'text'): string[] {
  const paragraphs = (format === 'html' ? htmlText(text) : text)
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
  const passages: string[] = [];
  let current = '';
  for (const paragraph of paragraphs.flatMap((p) =>
    p.length <= PASSAGE_CHARS ? [p] : (p.match(new RegExp(`.{1,${PASSAGE_CHARS}}(?:[.!?](?=\\s)|$)`, 'g')) ?? [p]),
  )) {
    if (current && current.length + paragraph.length + 1 > PASSAGE_CHARS) {
      passages.push(current);
      current = '';
    }
    current = current ? `${current}\n${paragraph}` : paragraph;
  }
  if (current) passages.push(current);
  return passages;
}

function* textFiles(path: string): Generator<string> {
  const stat = statSync(path);
  if (stat.isFile()) {
    if (TEXT_FILES.has(extname(path).toLowerCase())) yield path;
    return;
  }
  for (const entry of readdirSync(path)) {
    if (entry.startsWith('.') || entry === 'node_modules') continue;
    yield* textFiles(join(path, entry));
  }
}

const cosine = (a: readonly number[], b: readonly number[]) => {
  let dot = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
};

export class DocumentIndex {
  /** Passages by id: what a search hit is looked up in. */
  private readonly passages: Map<number, Passage>;

  private constructor(
    passages: Passage[],
    private readonly search_: MiniSearch<Passage>,
    /** The model the passages' vectors come from; undefined without vectors (or in an index saved before it was kept). */
    private embeddedWith?: string,
  ) {
    this.passages = new Map(passages.map((p) => [p.id, p]));
  }

  static empty(): DocumentIndex {
    return new DocumentIndex([], new MiniSearch<Passage>(miniSearchOptions));
  }

  static load(path: string): DocumentIndex {
    if (!existsSync(path)) return DocumentIndex.empty();
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { passages: Passage[]; search: unknown; embeddings?: { model?: unknown } };
    const model = typeof saved.embeddings?.model === 'string' ? saved.embeddings.model : undefined;
    return new DocumentIndex(saved.passages, MiniSearch.loadJSON<Passage>(JSON.stringify(saved.search), miniSearchOptions), model);
  }

  save(path: string): void {
    mkdirSync(dirname(resolve(path)), { recursive: true });
    const embeddings = this.embeddedWith ? { embeddings: { model: this.embeddedWith } } : {};
    writeFileSync(path, JSON.stringify({ ...embeddings, passages: [...this.passages.values()], search: this.search_.toJSON() }));
  }

  /** The model the passages' vectors come from, when known. */
  get embeddingModel(): string | undefined {
    return this.embeddedWith;
  }

  /** Whether the passages have vectors: all of them (re-ranking needs every hit's), some, or none. */
  private vectors(): 'all' | 'some' | 'none' {
    let with_ = 0;
    for (const p of this.passages.values()) if (p.vector) with_++;
    return with_ === 0 ? 'none' : with_ === this.passages.size ? 'all' : 'some';
  }

  /**
   * Refuses (one line, saying what to do) an index whose vectors cannot be compared with `model`'s: made by another
   * model, or made without embeddings. `file` names the index in the message.
   */
  checkEmbeddedWith(model: string, file: string): void {
    if (this.passages.size === 0) return;
    const vectors = this.vectors();
    if (vectors !== 'all') {
      throw new Error(
        `${file} has ${vectors === 'none' ? 'no' : 'only some'} passage vectors to re-rank with '${model}': build it again with \`autoglm index add <paths> --index ${file} --embeddings-model ${model}\` (and --config or --embeddings-url), or re-rank nothing`,
      );
    }
    if (this.embeddedWith !== undefined && this.embeddedWith !== model) {
      throw new Error(
        `${file} holds vectors from '${this.embeddedWith}', but passages are to be re-ranked with '${model}': re-rank with '${this.embeddedWith}', or build the index again with --embeddings-model ${model}`,
      );
    }
  }

  /** Refuses passages that would be embedded otherwise than those already here (or not at all, beside embedded ones). */
  private checkAddable(embedder: Embedder | undefined): void {
    if (this.passages.size === 0) return;
    const vectors = this.vectors();
    if (!embedder) {
      if (vectors !== 'none') {
        throw new Error(
          `the index's passages have vectors${this.embeddedWith ? ` from '${this.embeddedWith}'` : ''}: embed the new ones too (--embeddings-model${this.embeddedWith ? ` ${this.embeddedWith}` : ''})`,
        );
      }
      return;
    }
    if (vectors === 'none') {
      throw new Error(
        `the index's passages were added without embeddings: start a new index (--index) to embed with '${embedder.model}', or add these without --embeddings-model`,
      );
    }
    if (this.embeddedWith !== undefined && this.embeddedWith !== embedder.model) {
      throw new Error(
        `the index's passages have vectors from '${this.embeddedWith}': embed with it (--embeddings-model ${this.embeddedWith}), or start a new index (--index)`,
      );
    }
  }

  get size(): number {
    return this.passages.size;
  }

  get sources(): string[] {
    return [...new Set([...this.passages.values()].map((p) => p.source))];
  }

  /** Adds every text file under the paths (replacing passages of files added before); returns files and passages added. */
  async add(paths: readonly string[], embedder?: Embedder, onFile?: (file: string) => void): Promise<{ files: number; passages: number }> {
    this.checkAddable(embedder);
    if (embedder) this.embeddedWith = embedder.model;
    let files = 0;
    let added = 0;
    let nextId = 0;
    for (const id of this.passages.keys()) nextId = Math.max(nextId, id + 1);
    for (const root of paths) {
      for (const file of textFiles(root)) {
        // Files under the working directory are named relative to it; others by their full path.
        const rel = relative(process.cwd(), resolve(file));
        const source = rel && !rel.startsWith('..') ? rel : resolve(file);
        for (const old of this.passages.values()) {
          if (old.source !== source) continue;
          this.search_.discard(old.id);
          this.passages.delete(old.id);
        }
        const texts = splitPassages(readFileSync(file, 'utf8'), HTML_FILES.has(extname(file).toLowerCase()) ? 'html' : 'text');
        const vectors = embedder && texts.length ? await embedder.embed(texts) : undefined;
        const fresh = texts.map((text, i) => ({ id: nextId + i, source, text, vector: vectors?.[i] }));
        nextId += fresh.length;
        for (const p of fresh) this.passages.set(p.id, p);
        this.search_.addAll(fresh);
        files++;
        added += fresh.length;
        onFile?.(source);
      }
    }
    return { files, passages: added };
  }

  /** The best passages for a query: BM25, re-ranked half by embedding similarity when the passages have vectors. */
  async search(query: string, k: number, embedder?: Embedder, call?: EmbedCall): Promise<Hit[]> {
    const found = this.search_.search(query).slice(0, Math.max(k * 5, 20));
    if (found.length === 0) return [];
    let ranked = found.map((r) => ({ passage: this.passages.get(r.id as number)!, score: r.score }));
    if (embedder && ranked.every((r) => r.passage.vector)) {
      const [q] = await embedder.embed([query], call);
      const top = ranked[0]!.score;
      ranked = ranked.map((r) => ({ ...r, score: 0.5 * (r.score / top) + 0.5 * cosine(q!, r.passage.vector!) })).sort((a, b) => b.score - a.score);
    }
    return ranked.slice(0, k).map((r) => ({ source: r.passage.source, text: r.passage.text, score: Math.round(r.score * 1000) / 1000 }));
  }
}

export interface RetrieverOptions {
  /**
   * What this process embeds with (the server's EmbeddingModel), for an `embeddings` setting with no baseUrl: read at
   * each question, so a gateway's reloads are followed.
   */
  served?: () => EmbeddingModel | undefined;
  env?: NodeJS.ProcessEnv;
}

export interface RetrievalSettings {
  index: string;
  embeddings?: { baseUrl?: string; model: string; apiKeyEnv?: string };
}

/** What re-ranks a question's hits: another server's model by its URL, or, without one, a model served here. */
function embedderFor(e: NonNullable<RetrievalSettings['embeddings']>, options: RetrieverOptions): Embedder {
  const env = options.env ?? process.env;
  if (e.baseUrl) return new RemoteEmbedder({ baseUrl: e.baseUrl, model: e.model, apiKey: e.apiKeyEnv ? env[e.apiKeyEnv] : undefined });
  const served = new ServedEmbedder(e.model, options.served ?? (() => undefined));
  const available = served.available();
  if (!available.includes(e.model)) {
    throw new Error(
      `reasoning.retrieval.embeddings.model '${e.model}' is not a model this server embeds with (${available.length ? `it embeds with ${available.join(', ')}` : 'it serves none that embeds'}); name one of them, or give a baseUrl to embed elsewhere`,
    );
  }
  return served;
}

/**
 * The index named in the config, as the rag strategy's retriever. With embeddings, the index's vectors must come from
 * the model that re-ranks: refused at start otherwise.
 */
export function openRetriever(settings: RetrievalSettings, options: RetrieverOptions = {}) {
  const index = DocumentIndex.load(settings.index);
  const embedder = settings.embeddings ? embedderFor(settings.embeddings, options) : undefined;
  if (embedder) index.checkEmbeddedWith(embedder.model, settings.index);
  return { size: index.size, search: (query: string, k: number, call?: EmbedCall) => index.search(query, k, embedder, call) };
}
