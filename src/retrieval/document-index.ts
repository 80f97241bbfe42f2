// A local document index for retrieval-augmented answers: files split into passages, searched with BM25
// (MiniSearch), optionally re-ranked by embeddings from an OpenAI-compatible /v1/embeddings endpoint.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import MiniSearch from 'minisearch';
import { RemoteEmbedder, type Embedder } from './embedder.js';
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
  ) {
    this.passages = new Map(passages.map((p) => [p.id, p]));
  }

  static empty(): DocumentIndex {
    return new DocumentIndex([], new MiniSearch<Passage>(miniSearchOptions));
  }

  static load(path: string): DocumentIndex {
    if (!existsSync(path)) return DocumentIndex.empty();
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { passages: Passage[]; search: unknown };
    return new DocumentIndex(saved.passages, MiniSearch.loadJSON<Passage>(JSON.stringify(saved.search), miniSearchOptions));
  }

  save(path: string): void {
    mkdirSync(dirname(resolve(path)), { recursive: true });
    writeFileSync(path, JSON.stringify({ passages: [...this.passages.values()], search: this.search_.toJSON() }));
  }

  get size(): number {
    return this.passages.size;
  }

  get sources(): string[] {
    return [...new Set([...this.passages.values()].map((p) => p.source))];
  }

  /** Adds every text file under the paths (replacing passages of files added before); returns files and passages added. */
  async add(paths: readonly string[], embedder?: Embedder, onFile?: (file: string) => void): Promise<{ files: number; passages: number }> {
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
  async search(query: string, k: number, embedder?: Embedder): Promise<Hit[]> {
    const found = this.search_.search(query).slice(0, Math.max(k * 5, 20));
    if (found.length === 0) return [];
    let ranked = found.map((r) => ({ passage: this.passages.get(r.id as number)!, score: r.score }));
    if (embedder && ranked.every((r) => r.passage.vector)) {
      const [q] = await embedder.embed([query]);
      const top = ranked[0]!.score;
      ranked = ranked.map((r) => ({ ...r, score: 0.5 * (r.score / top) + 0.5 * cosine(q!, r.passage.vector!) })).sort((a, b) => b.score - a.score);
    }
    return ranked.slice(0, k).map((r) => ({ source: r.passage.source, text: r.passage.text, score: Math.round(r.score * 1000) / 1000 }));
  }
}

/** The index named in the config, as the rag strategy's retriever. */
export function openRetriever(
  settings: { index: string; embeddings?: { baseUrl: string; model: string; apiKeyEnv?: string } },
  env: NodeJS.ProcessEnv = process.env,
) {
  const index = DocumentIndex.load(settings.index);
  const e = settings.embeddings;
  const embedder = e ? new RemoteEmbedder({ baseUrl: e.baseUrl, model: e.model, apiKey: e.apiKeyEnv ? env[e.apiKeyEnv] : undefined }) : undefined;
  return { size: index.size, search: (query: string, k: number) => index.search(query, k, embedder) };
}
