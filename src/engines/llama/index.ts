// Door of the llama room: the embedded node-llama-cpp engine, model files and quantization.
export { LlamaEngine, type EngineStats, type LoadedModelDescription } from './llama-engine.js';
export { resolveModel, assertGguf, modelNameOf, type ResolvedModel } from './model-file.js';
export { ModelUnavailableError } from '../../core/index.js';
export { quantizeModel, quantizeCached, findLibllama, QuantizeError, type QuantizeProgress, type QuantizeResult } from './quantize.js';
export { pickByLongestPrefix, reusableTokens, sharedPrefixLength } from './prefix-reuse.js';
export { StopBuffer } from './stop-buffer.js';
export { ModelEngine, type GenerateOptions } from './model-engine.js';
export { gpuBackends, type GpuBackends } from './gpu-backends.js';
export { LlamaEmbedder, type LlamaEmbedderOptions } from './llama-embedder.js';
