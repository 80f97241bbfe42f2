// Door of the llama room: the embedded node-llama-cpp engine, model files and quantization.
export { LlamaEngine, type EngineStats, type LoadedModelDescription } from './llama-engine.js';
export {
  resolveModel,
  assertGguf,
  modelNameOf,
  parseHubSpec,
  pullToCache,
  cachePathOf,
  type ResolvedModel,
  type HubFile,
  type PullResult,
} from './model-file.js';
export { loadCatalog, ModelCatalog, parseCatalogFile, userCatalogPath, type CatalogModel, type CatalogEntryInput } from './model-catalog.js';
export { listLocalModels, notPulled, removeCachedModel, type LocalModel } from './local-models.js';
export { ChecksumMismatchError } from './download.js';
export { ModelUnavailableError } from '../../core/index.js';
export { quantizeModel, quantizeCached, findLibllama, QuantizeError, type QuantizeProgress, type QuantizeResult } from './quantize.js';
export { pickByLongestPrefix, reusableTokens, sharedPrefixLength } from './prefix-reuse.js';
export { StopBuffer } from './stop-buffer.js';
export { ModelEngine, type GenerateOptions } from './model-engine.js';
export { gpuBackends, type GpuBackends } from './gpu-backends.js';
export { LlamaEmbedder, type LlamaEmbedderOptions } from './llama-embedder.js';
export { EmbeddingsOnlyEngine } from './embeddings-only-engine.js';
export { LoadedModelSet, type SetEngine, type SetMember, type ModelSetOptions, type UnloadReason } from './model-set.js';
export { makeRoom, type LoadBudget, type ResidentModel, type RoomPlan } from './load-budget.js';
export { loadModelFile, type LoadedModelFile } from './model-file-load.js';
