// A GGUF loaded for embeddings only (`serve --embeddings-only`): the model and, on the first request, its embedding
// context, but no chat context and no sequences; a chat or completion request is refused with a 400 that says why.
import type { LlamaModel } from 'node-llama-cpp';
import { invalidRequest, type ChatChunk, type ChatModel, type ChatRequest, type ModelInfo } from '../../core/index.js';
import { modelPathsFromEnv, type EngineSettingsInput, type ModelPaths } from '../../config/index.js';
import { LlamaEmbedder } from './llama-embedder.js';
import type { EngineStats, LoadedModelDescription } from './llama-engine.js';
import { loadModelFile } from './model-file-load.js';

export class EmbeddingsOnlyEngine implements ChatModel {
  readonly embeddings: LlamaEmbedder;
  private readonly listed: ModelInfo[];

  private constructor(
    private readonly model: LlamaModel,
    readonly description: LoadedModelDescription,
  ) {
    const { name, contextSize, settings } = description;
    this.embeddings = new LlamaEmbedder(model, { name, contextSize, threads: settings.threads });
    this.listed = [{ id: name, ownedBy: 'autoglm', created: Math.floor(Date.now() / 1000), contextSize }];
  }

  /** Resolves, optionally quantizes, and loads a model as the chat engine does; fails with a one-line ModelUnavailableError. */
  static async load(input: EngineSettingsInput = {}, paths: ModelPaths = modelPathsFromEnv()): Promise<EmbeddingsOnlyEngine> {
    const { settings, llama, model, path, name, warnings } = await loadModelFile(input, paths);
    const contextSize = Math.min(settings.contextSize, model.trainContextSize);
    // No chat context: the context settings and speculation do not apply; the model's own settings do.
    const effective = {
      gpuLayers: model.gpuLayers,
      flashAttention: 'off' as const,
      kvCacheKeyType: 'none',
      kvCacheValueType: 'none',
      batchSize: 0,
      mmap: model.useMmap,
      mlock: settings.mlock,
      speculative: 'off',
    };
    return new EmbeddingsOnlyEngine(model, { name, path, contextSize, settings, gpu: String(llama.gpu || 'off'), effective, warnings });
  }

  /** No sequences decode here: the gauges read zero. */
  get stats(): EngineStats {
    return { parallel: 0, busySequences: 0, queueDepth: 0, predictedValidated: 0, predictedRefuted: 0 };
  }

  models(): ModelInfo[] {
    return this.listed;
  }

  // biome-ignore lint/correctness/useYield: a chat request is refused before anything could be generated
  async *stream(req: ChatRequest): AsyncGenerator<ChatChunk> {
    throw invalidRequest(
      `The model '${req.model}' is served for embeddings only (serve --embeddings-only): use POST /v1/embeddings, or serve it without --embeddings-only to chat.`,
      'model',
      'embeddings_only',
    );
  }

  async dispose(): Promise<void> {
    await this.embeddings.dispose();
    await this.model.dispose();
  }
}
