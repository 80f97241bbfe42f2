// The models on this machine: GGUF files in the mirrors, the model folders and the download cache, and removing a
// pulled one from the cache (never a file anywhere else).
import { existsSync, realpathSync } from 'node:fs';
import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { ModelPaths } from '../../config/index.js';
import { ModelUnavailableError } from '../../core/index.js';
import { type CatalogModel, looksLikeCatalogName, type ModelCatalog } from './model-catalog.js';
import { cachePathOf, parseHubSpec } from './model-file.js';

export interface LocalModel {
  path: string;
  size: number;
  /** The quantization from the GGUF header (file type, else the most common tensor type). */
  quant: string;
  role: 'chat' | 'embedding';
  /** The catalog name this file is, when it is one. */
  catalogName?: string;
  /** True for a file in the download cache, which `autoglm rm` may delete. */
  inCache: boolean;
}

const modelsDirOf = (paths: ModelPaths) => join(paths.cacheDir, 'models');

/** Every GGUF file found, the cache searched through its owner/repo folders, the other folders at their top level. */
export async function listLocalModels(paths: ModelPaths, catalog: ModelCatalog): Promise<LocalModel[]> {
  const cacheRoot = modelsDirOf(paths);
  const files = new Map<string, string>();
  const add = (path: string) => {
    const real = realpathSync(path);
    if (!files.has(real)) files.set(real, path);
  };
  for (const path of await ggufFilesUnder(cacheRoot, true)) add(path);
  for (const dir of [...paths.mirrors, ...paths.modelDirs]) for (const path of await ggufFilesUnder(dir, false)) add(path);
  const entries = catalog.list();
  const models: LocalModel[] = [];
  for (const path of files.values()) {
    const inCache = isInside(path, cacheRoot);
    const entry = entries.find((e) => (inCache ? cachePathOf(e, paths) === path : basename(e.file) === basename(path)));
    const header = await ggufHeader(path);
    models.push({
      path,
      size: (await stat(path)).size,
      quant: header.quant,
      role: entry?.role ?? header.role,
      catalogName: entry?.name,
      inCache,
    });
  }
  return models.sort((a, b) => a.path.localeCompare(b.path));
}

/** Catalog entries with no file on this machine yet. */
export function notPulled(catalog: ModelCatalog, local: readonly LocalModel[]): CatalogModel[] {
  const names = new Set(local.map((m) => m.catalogName).filter(Boolean));
  return catalog.list().filter((e) => !names.has(e.name));
}

async function ggufFilesUnder(dir: string, recursive: boolean): Promise<string[]> {
  const found = await readdir(dir, { withFileTypes: true, recursive }).catch(() => []);
  return found.filter((d) => d.isFile() && /\.gguf$/i.test(d.name)).map((d) => join(d.parentPath, d.name));
}

const isInside = (path: string, root: string) => {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
};

/** Quantization and role from the GGUF header, without loading the model. */
async function ggufHeader(path: string): Promise<{ quant: string; role: 'chat' | 'embedding' }> {
  const { readGgufFileInfo, GgufFileType, GgmlType } = await import('node-llama-cpp');
  try {
    const info = await readGgufFileInfo(path, {
      readTensorInfo: true,
      logWarnings: false,
      ignoreKeys: ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type', 'tokenizer.ggml.merges'],
    });
    const fileType = info.metadata.general?.file_type;
    let quant = fileType !== undefined ? GgufFileType[fileType] : undefined;
    if (!quant) {
      // Older converters leave file_type out; the tensors still say what they hold.
      const counts = new Map<number, number>();
      for (const t of info.tensorInfo ?? []) counts.set(t.ggmlType, (counts.get(t.ggmlType) ?? 0) + 1);
      const common = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
      quant = common !== undefined ? GgmlType[common] : undefined;
    }
    // An embedding model declares how it pools token vectors; a chat model does not.
    const pooling = (info.architectureMetadata as { pooling_type?: unknown }).pooling_type;
    return { quant: (quant ?? 'unknown').replace(/^(MOSTLY|ALL)_/, ''), role: pooling !== undefined ? 'embedding' : 'chat' };
  } catch {
    return { quant: 'unreadable', role: 'chat' };
  }
}

/**
 * Deletes one pulled model (and any .part of it) from the download cache. A name that leads outside the cache is
 * refused: mirrors and model folders belong to the user.
 */
export async function removeCachedModel(spec: string, paths: ModelPaths, catalog: ModelCatalog): Promise<string> {
  const cacheRoot = modelsDirOf(paths);
  const hub = parseHubSpec(spec);
  const entry = hub ? undefined : looksLikeCatalogName(spec) ? catalog.lookup(spec) : undefined;
  let target: string | undefined;
  if (hub) target = cachePathOf(hub, paths);
  else if (entry) target = cachePathOf(entry, paths);
  else if (spec.includes('/') || spec.includes('\\') || /\.gguf$/i.test(spec)) target = resolve(spec);
  else {
    const wanted = `${spec}.gguf`.toLowerCase();
    target = (await ggufFilesUnder(cacheRoot, true)).find((p) => basename(p).toLowerCase() === wanted);
  }
  if (target && existsSync(target) && !isInside(realpathSync(target), realpathOr(cacheRoot))) {
    throw new ModelUnavailableError(`refusing to delete ${target}: it is outside the model cache ${cacheRoot}; autoglm rm deletes only pulled models`);
  }
  if (!target || (!existsSync(target) && !existsSync(`${target}.part`))) {
    const elsewhere = (await listLocalModels(paths, catalog)).find((m) => !m.inCache && (m.catalogName === entry?.name || basename(m.path) === `${spec}.gguf`));
    throw new ModelUnavailableError(
      elsewhere
        ? `'${spec}' is ${elsewhere.path}, outside the model cache ${cacheRoot}; autoglm rm deletes only pulled models`
        : `model '${spec}' is not in the model cache ${cacheRoot}; autoglm models lists what is there`,
    );
  }
  await rm(target, { force: true });
  await rm(`${target}.part`, { force: true });
  // Owner and repository folders left empty go too, up to the cache's models folder itself.
  for (let dir = dirname(target); isInside(dir, cacheRoot); dir = dirname(dir)) {
    if (
      !(await rmdir(dir).then(
        () => true,
        () => false,
      ))
    )
      break;
  }
  return target;
}

const realpathOr = (path: string) => (existsSync(path) ? realpathSync(path) : path);
