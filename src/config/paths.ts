// Where models live on disk: mirrors (searched first, offline), model directories, and the download cache.
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

export interface ModelPaths {
  /** Searched first, so a known model resolves without a network. */
  mirrors: string[];
  /** Searched for bare names after the mirrors. */
  modelDirs: string[];
  /** Downloads and quantized files land here. */
  cacheDir: string;
  /** Base URL for hf: downloads. */
  hfEndpoint: string;
  hfToken?: string;
}

const splitList = (value: string | undefined): string[] =>
  (value ?? '')
    .split(delimiter)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => resolve(s));

export function modelPathsFromEnv(env: NodeJS.ProcessEnv = process.env): ModelPaths {
  const cacheDir = resolve(env.AUTOGLM_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'autoglm'));
  const modelsDir = join(cacheDir, 'models');
  return {
    mirrors: splitList(env.AUTOGLM_MODEL_MIRROR),
    modelDirs: [...splitList(env.AUTOGLM_MODELS_DIR), resolve('models'), modelsDir],
    cacheDir,
    hfEndpoint: (env.AUTOGLM_HF_ENDPOINT ?? env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, ''),
    hfToken: env.HF_TOKEN,
  };
}
