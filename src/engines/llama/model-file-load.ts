// Loading a GGUF into llama.cpp, as every engine of this room does: resolve it, quantize it once if asked, load it on
// the shared llama.cpp of its backend, and fail in one line when the file cannot be loaded.
import { statSync } from 'node:fs';
import type { Llama, LlamaModel } from 'node-llama-cpp';
import { ModelUnavailableError } from '../../core/index.js';
import { engineSettingsSchema, modelPathsFromEnv, type EngineSettings, type EngineSettingsInput, type ModelPaths } from '../../config/index.js';
import { loadLlama } from './gpu-backends.js';
import { lockableBytes } from './memory-lock.js';
import { resolveModel } from './model-file.js';
import { quantizeCached } from './quantize.js';

export interface LoadedModelFile {
  settings: EngineSettings;
  llama: Llama;
  model: LlamaModel;
  /** The file loaded: the quantized copy when one was asked for. */
  path: string;
  /** The name clients use: the alias, or the one derived from the file. */
  name: string;
  /** Settings this machine could not honour as asked but that still let the model serve, one line each. */
  warnings: string[];
}

export async function loadModelFile(input: EngineSettingsInput = {}, paths: ModelPaths = modelPathsFromEnv()): Promise<LoadedModelFile> {
  const settings = engineSettingsSchema.parse(input);
  const resolved = await resolveModel(settings.model, paths);
  const path = settings.quantize ? await quantizeCached(resolved.path, settings.quantize, paths.cacheDir) : resolved.path;
  const llama = await loadLlama(settings.gpu);
  const warnings = checkMachine(settings, llama, path);
  let model: LlamaModel;
  try {
    model = await llama.loadModel({
      modelPath: path,
      gpuLayers: settings.gpuLayers,
      useMmap: settings.mmap && llama.supportsMmap,
      useMlock: settings.mlock,
    });
  } catch (err) {
    throw new ModelUnavailableError(`cannot load model ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  return { settings, llama, model, path, name: settings.alias ?? resolved.name, warnings };
}

/**
 * Settings this machine cannot honour. Asking for GPU layers without a GPU, or to lock memory the process may not
 * lock, is refused: the user asked for a guarantee (speed, no swapping) that would silently not hold. mmap is only a
 * way of reading the file, so where it is missing the file is read instead, with a warning.
 */
function checkMachine(settings: EngineSettings, llama: Llama, path: string): string[] {
  const { gpuLayers } = settings;
  if (!llama.gpu && (gpuLayers === 'max' || (typeof gpuLayers === 'number' && gpuLayers > 0))) {
    throw new ModelUnavailableError(
      `--gpu-layers ${gpuLayers} needs a GPU, and llama.cpp runs on the CPU here (use --gpu-layers 0 or auto, or see autoglm doctor)`,
    );
  }
  if (settings.mlock) {
    if (!llama.supportsMlock) throw new ModelUnavailableError('--mlock is not supported by llama.cpp on this platform (leave it off)');
    const limit = lockableBytes();
    const size = statSync(path).size;
    if (limit !== undefined && limit < size) {
      throw new ModelUnavailableError(
        `--mlock cannot lock ${path} (${size} bytes): this process may lock only ${limit} bytes (raise ulimit -l, or grant CAP_IPC_LOCK, or leave --mlock off)`,
      );
    }
  }
  return settings.mmap && !llama.supportsMmap ? ['mmap is not supported by llama.cpp on this platform: the model file is read into memory instead'] : [];
}
