// Finding a GGUF model from what the user typed: a path, a bare or catalog name, or hf:owner/repo/file.gguf.
import { existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { ModelPaths } from '../../config/index.js';
import { ModelUnavailableError } from '../../core/index.js';
import { downloadFile } from './download.js';
import { HF_SPEC, loadCatalog, looksLikeCatalogName, type ModelCatalog } from './model-catalog.js';

export interface ResolvedModel {
  /** Absolute path of the GGUF file. */
  path: string;
  /** The name clients use for it. */
  name: string;
}

export interface ResolveOptions {
  /** The catalog that bare names are looked up in; by default the built-in one with the user's file over it. */
  catalog?: ModelCatalog;
  /** Where a download draws its progress bar. */
  progressStream?: NodeJS.WritableStream;
}

/** A file in a Hugging Face repository. */
export interface HubFile {
  owner: string;
  repo: string;
  file: string;
  sha256?: string;
}

export interface PullResult {
  path: string;
  /** False when the cache already had the file. */
  downloaded: boolean;
  verifiedSha256?: string;
  resumedFrom: number;
}

export const modelNameOf = (path: string): string => basename(path).replace(/\.gguf$/i, '');

/** Where a hub file lives in the download cache. */
export const cachePathOf = ({ owner, repo, file }: HubFile, paths: ModelPaths): string => join(paths.cacheDir, 'models', owner, repo, ...file.split('/'));

const looksLikePath = (spec: string) => spec.includes('/') || spec.includes('\\') || /\.gguf$/i.test(spec);

/**
 * Resolves a model spec to a checked GGUF file: a path, a file in the mirrors or model folders, a catalog name, or
 * hf:owner/repo/file.gguf. A catalog name or hf: spec found nowhere on disk is downloaded into the cache.
 */
export async function resolveModel(spec: string, paths: ModelPaths, options: ResolveOptions = {}): Promise<ResolvedModel> {
  const hf = parseHubSpec(spec);
  let resolved: ResolvedModel;
  if (hf) {
    const path = findInDirs(basename(hf.file), paths.mirrors) ?? (await fetchOrFail(hf, paths, options, (why) => `could not download ${hubName(hf)}: ${why}`));
    resolved = { path, name: modelNameOf(path) };
  } else resolved = await resolveByName(spec, paths, options);
  await assertGguf(resolved.path);
  return resolved;
}

/** hf:owner/repo/file.gguf as its parts; undefined for anything not starting hf:, an error for a malformed hf: spec. */
export function parseHubSpec(spec: string): HubFile | undefined {
  const hf = HF_SPEC.exec(spec);
  if (!hf && /^hf:/i.test(spec)) {
    throw new ModelUnavailableError(
      `'${spec}' is not a Hugging Face model: expected hf:owner/repo/file.gguf (the repository's owner and name, then the path of a .gguf file in it)`,
    );
  }
  return hf ? { owner: hf[1]!, repo: hf[2]!, file: hf[3]! } : undefined;
}

const hubName = ({ owner, repo, file }: HubFile) => `${owner}/${repo}/${file}`;

async function resolveByName(spec: string, paths: ModelPaths, options: ResolveOptions): Promise<ResolvedModel> {
  const local = [...paths.mirrors, ...paths.modelDirs];
  if (looksLikePath(spec)) {
    if (existsSync(spec)) return named(resolve(spec));
    if (!spec.includes('/') && !spec.includes('\\')) {
      const found = findInDirs(basename(spec), local);
      if (found) return named(found);
    }
    throw new ModelUnavailableError(`model file not found: ${spec}`);
  }
  const found = findInDirs(spec, local);
  if (found) return named(found);
  const searched = local.join(', ') || '(none)';
  const entry = looksLikeCatalogName(spec) ? (options.catalog ?? (await loadCatalog())).lookup(spec) : undefined;
  if (!entry) {
    throw new ModelUnavailableError(
      `model '${spec}' not found in ${searched}; pass a .gguf path, a catalog name (autoglm models lists them), set AUTOGLM_MODEL_MIRROR, or use hf:owner/repo/file.gguf`,
    );
  }
  // Local first: the same file in a mirror or model folder, then the cache, and only then the network.
  const path =
    findInDirs(basename(entry.file), local) ??
    (await fetchOrFail(
      entry,
      paths,
      options,
      (why) => `model '${spec}' is not in ${searched} nor the cache, and downloading ${hubName(entry)} from ${paths.hfEndpoint} failed: ${why}`,
    ));
  return { path, name: spec };
}

const named = (path: string): ResolvedModel => ({ path, name: modelNameOf(path) });

async function fetchOrFail(hub: HubFile, paths: ModelPaths, options: ResolveOptions, message: (why: string) => string): Promise<string> {
  try {
    return (await pullToCache(hub, paths, options)).path;
  } catch (err) {
    throw new ModelUnavailableError(message((err as Error).message.split('\n')[0]!));
  }
}

/** Downloads a hub file into the cache unless it is already there; verified, resumable, with a progress bar. */
export async function pullToCache(hub: HubFile, paths: ModelPaths, options: Pick<ResolveOptions, 'progressStream'> = {}): Promise<PullResult> {
  const target = cachePathOf(hub, paths);
  if (existsSync(target)) return { path: target, downloaded: false, resumedFrom: 0 };
  const url = `${paths.hfEndpoint}/${hub.owner}/${hub.repo}/resolve/main/${hub.file.split('/').map(encodeURIComponent).join('/')}`;
  const headers: Record<string, string> = paths.hfToken ? { authorization: `Bearer ${paths.hfToken}` } : {};
  const result = await downloadFile(url, target, { headers, label: basename(hub.file), sha256: hub.sha256, progressStream: options.progressStream });
  return { path: target, downloaded: true, ...result };
}

function findInDirs(name: string, dirs: readonly string[]): string | undefined {
  const candidates = /\.gguf$/i.test(name) ? [name] : [`${name}.gguf`, name];
  for (const dir of dirs) {
    for (const file of candidates) {
      const path = join(dir, file);
      if (existsSync(path) && statSync(path).isFile()) return path;
    }
  }
  return undefined;
}

/** A GGUF file starts with the magic "GGUF" and a format version; anything else would crash llama.cpp later. */
export async function assertGguf(path: string): Promise<void> {
  const handle = await open(path, 'r').catch(() => {
    throw new ModelUnavailableError(`cannot read model file: ${path}`);
  });
  try {
    const header = Buffer.alloc(8);
    const { bytesRead } = await handle.read(header, 0, 8, 0);
    if (bytesRead < 8 || header.toString('latin1', 0, 4) !== 'GGUF') {
      throw new ModelUnavailableError(`not a GGUF model file (bad magic): ${path}`);
    }
    const version = header.readUInt32LE(4);
    if (version < 2 || version > 3) {
      throw new ModelUnavailableError(`unsupported GGUF version ${version} in ${path} (supported: 2, 3)`);
    }
  } finally {
    await handle.close();
  }
}
