// Finding a GGUF model from what the user typed: a path, a bare name, or hf:owner/repo/file.gguf.
import { existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { ModelPaths } from '../../config/index.js';
import { ModelUnavailableError } from '../../core/index.js';
import { downloadFile } from './download.js';

export interface ResolvedModel {
  /** Absolute path of the GGUF file. */
  path: string;
  /** The name clients use for it. */
  name: string;
}

const HF_SPEC = /^hf:([^/\s]+)\/([^/\s]+)\/(.+\.gguf)$/i;

export const modelNameOf = (path: string): string => basename(path).replace(/\.gguf$/i, '');

/** Resolves a model spec to a checked GGUF file, downloading hf: specs into the cache when they are not mirrored. */
export async function resolveModel(spec: string, paths: ModelPaths): Promise<ResolvedModel> {
  const hf = HF_SPEC.exec(spec);
  if (!hf && /^hf:/i.test(spec)) {
    throw new ModelUnavailableError(
      `'${spec}' is not a Hugging Face model: expected hf:owner/repo/file.gguf (the repository's owner and name, then the path of a .gguf file in it)`,
    );
  }
  const path = hf ? await resolveHuggingFace(hf[1]!, hf[2]!, hf[3]!, paths) : resolveLocal(spec, paths);
  await assertGguf(path);
  return { path, name: modelNameOf(path) };
}

function resolveLocal(spec: string, paths: ModelPaths): string {
  const looksLikePath = spec.includes('/') || spec.includes('\\') || /\.gguf$/i.test(spec);
  if (looksLikePath && existsSync(spec)) return resolve(spec);
  if (!looksLikePath || !spec.includes('/')) {
    const found = findInDirs(basename(spec), [...paths.mirrors, ...paths.modelDirs]);
    if (found) return found;
  }
  const searched = [...paths.mirrors, ...paths.modelDirs].join(', ') || '(none)';
  throw new ModelUnavailableError(
    looksLikePath
      ? `model file not found: ${spec}`
      : `model '${spec}' not found in ${searched}; pass a .gguf path, set AUTOGLM_MODEL_MIRROR, or use hf:owner/repo/file.gguf`,
  );
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

async function resolveHuggingFace(owner: string, repo: string, file: string, paths: ModelPaths): Promise<string> {
  const mirrored = findInDirs(basename(file), paths.mirrors);
  if (mirrored) return mirrored;
  const target = join(paths.cacheDir, 'models', owner, repo, file);
  if (existsSync(target)) return target;
  const url = `${paths.hfEndpoint}/${owner}/${repo}/resolve/main/${file.split('/').map(encodeURIComponent).join('/')}`;
  const headers: Record<string, string> = paths.hfToken ? { authorization: `Bearer ${paths.hfToken}` } : {};
  try {
    await downloadFile(url, target, { headers, label: basename(file) });
  } catch (err) {
    throw new ModelUnavailableError(`could not download ${owner}/${repo}/${file}: ${(err as Error).message}`);
  }
  return target;
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
