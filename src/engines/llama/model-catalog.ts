// Model names as Ollama users type them (`qwen2.5:0.5b`, `nomic-embed-text`): the built-in catalog, extended or
// overridden by the user's own catalog file, each name mapped to a GGUF file on the Hugging Face hub.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../config/index.js';
import { configProblems } from '../../config/config-problems.js';
import { BUILT_IN_CATALOG } from './catalog-entries.js';

/** hf:owner/repo/path/to/file.gguf */
export const HF_SPEC = /^hf:([^/\s]+)\/([^/\s]+)\/(.+\.gguf)$/i;
const NAME = /^[a-z0-9][\w.-]*(:[\w][\w.-]*)?$/i;

const entrySchema = z.strictObject({
  source: z.string().regex(HF_SPEC, 'expected hf:owner/repo/file.gguf'),
  quant: z.string().min(1).optional(),
  size: z.number().int().positive().optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/i, 'expected 64 hex digits')
    .optional(),
  role: z.enum(['chat', 'embedding']).default('chat'),
  /** The tag a bare name means. */
  default: z.boolean().optional(),
  description: z.string().optional(),
});

const catalogFileSchema = z.strictObject({
  models: z.record(z.string().regex(NAME, 'a model name is name or name:tag (letters, digits, . _ -)'), entrySchema),
});

export type CatalogEntryInput = z.input<typeof entrySchema>;
export type CatalogEntry = z.output<typeof entrySchema>;

export interface CatalogModel extends CatalogEntry {
  /** The catalog's own spelling of the name, `name:tag` or a bare name. */
  name: string;
  owner: string;
  repo: string;
  /** Path of the GGUF file inside the repository. */
  file: string;
  /** Where the entry came from: built-in or the user's catalog file. */
  origin: string;
}

export class ModelCatalog {
  private readonly models = new Map<string, CatalogModel>();

  constructor(layers: readonly { origin: string; entries: Record<string, CatalogEntryInput> }[]) {
    for (const { origin, entries } of layers) {
      for (const [name, input] of Object.entries(entries)) {
        const entry = entrySchema.parse(input);
        const [, owner, repo, file] = HF_SPEC.exec(entry.source)!;
        // A later layer's default for a name takes over from an earlier one's.
        if (entry.default) for (const other of this.family(familyOf(name))) other.default = false;
        this.models.set(name.toLowerCase(), { ...entry, name, owner: owner!, repo: repo!, file: file!, origin });
      }
    }
  }

  /** Every entry, sorted by name. */
  list(): CatalogModel[] {
    return [...this.models.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The entry a name means: `name:tag` exactly, or for a bare name (or `name:latest`) its default tag. */
  lookup(typed: string): CatalogModel | undefined {
    const key = typed.toLowerCase().replace(/:latest$/, '');
    const exact = this.models.get(key);
    if (exact || key.includes(':')) return exact;
    const family = this.family(key);
    return family.find((m) => m.default) ?? (family.length === 1 ? family[0] : undefined);
  }

  private family(name: string): CatalogModel[] {
    return [...this.models.values()].filter((m) => familyOf(m.name).toLowerCase() === name.toLowerCase());
  }
}

const familyOf = (name: string) => name.split(':')[0]!;

/** True when a spec is shaped like a catalog name rather than a path or an hf: spec. */
export const looksLikeCatalogName = (spec: string): boolean => NAME.test(spec) && !/\.gguf$/i.test(spec);

/** The user's catalog file: $AUTOGLM_CATALOG, else catalog.yaml in the data folder (used when it exists). */
export function userCatalogPath(env: NodeJS.ProcessEnv = process.env): { path: string; required: boolean } {
  if (env.AUTOGLM_CATALOG) return { path: resolve(env.AUTOGLM_CATALOG), required: true };
  const dataDir = env.AUTOGLM_DATA_DIR ?? join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'autoglm');
  return { path: resolve(dataDir, 'catalog.yaml'), required: false };
}

/** Parses a user catalog; every problem is reported at its file:line:col, as config files are. */
export function parseCatalogFile(text: string, file: string): Record<string, CatalogEntryInput> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const { line, col } = lineCounter.linePos(syntax.pos[0]);
    throw new ConfigError(`${file}:${line}:${col}: invalid YAML: ${syntax.message.split('\n')[0]}`);
  }
  const result = catalogFileSchema.safeParse(doc.toJS() ?? {});
  if (result.success) return result.data.models;
  const problems = configProblems(result.error.issues, catalogFileSchema, { doc, lineCounter, file });
  throw new ConfigError(problems.length > 1 ? `${problems[0]} (and ${problems.length - 1} more)` : problems[0]!, problems);
}

/** The built-in catalog with the user's file (if any) layered over it. */
export async function loadCatalog(env: NodeJS.ProcessEnv = process.env): Promise<ModelCatalog> {
  const layers = [{ origin: 'built-in', entries: BUILT_IN_CATALOG }];
  const { path, required } = userCatalogPath(env);
  if (required || existsSync(path)) {
    const text = await readFile(path, 'utf8').catch(() => {
      throw new ConfigError(`cannot read model catalog ${path}`);
    });
    layers.push({ origin: path, entries: parseCatalogFile(text, path) });
  }
  return new ModelCatalog(layers);
}
