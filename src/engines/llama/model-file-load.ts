// Loading a GGUF into llama.cpp, as every engine of this room does: resolve it, quantize it once if asked, load it on
// the shared llama.cpp of its backend, and fail in one line when the file cannot be loaded.
import type { Llama, LlamaModel } from 'node-llama-cpp';
import { ModelUnavailableError } from '../../core/index.js';
import { engineSettingsSchema, modelPathsFromEnv, type EngineSettings, type EngineSettingsInput, type ModelPaths } from '../../config/index.js';
import { loadLlama } from './gpu-backends.js';
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
}

export async function loadModelFile(input: EngineSettingsInput = {}, paths: ModelPaths = modelPathsFromEnv()): Promise<LoadedModelFile> {
  const settings = engineSettingsSchema.parse(input);
  const resolved = await resolveModel(settings.model, paths);
  const path = settings.quantize ? await quantizeCached(resolved.path, settings.quantize, paths.cacheDir) : resolved.path;
  const llama = await loadLlama(settings.gpu);
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: path });
  } catch (err) {
    throw new ModelUnavailableError(`cannot load model ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  return { settings, llama, model, path, name: settings.alias ?? resolved.name };
}
