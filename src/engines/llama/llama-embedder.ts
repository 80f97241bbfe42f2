// Embeddings from the GGUF that serves chat: node-llama-cpp's embedding context on the same LlamaModel, made on the
// first embeddings request (a server that is never asked for one never pays for its context).
//
// The vector is what llama.cpp returns for the input: the model's pooled embedding when the GGUF names a pooling type
// (embedding models do), otherwise the hidden state of the last token (generative models such as stories260K name
// none). It is normalized to length 1, as OpenAI's are. node-llama-cpp's context has one sequence and evaluates one
// input at a time under a lock; a batch is embedded input after input.
import type { LlamaEmbeddingContext, LlamaModel, Token } from 'node-llama-cpp';
import {
  inputTooLong,
  invalidRequest,
  l2Normalize,
  modelNotFound,
  type CallContext,
  type EmbeddingModel,
  type EmbeddingModelInfo,
  type EmbeddingRequest,
  type Embeddings,
} from '../../core/index.js';

export interface LlamaEmbedderOptions {
  /** The name clients use (the chat engine's). */
  name: string;
  /** Tokens the embedding context holds; an input must be shorter. */
  contextSize: number;
  threads: number;
}

export class LlamaEmbedder implements EmbeddingModel {
  private context?: Promise<LlamaEmbeddingContext>;
  private readonly listed: EmbeddingModelInfo[];
  private readonly vocabularySize: number;
  private readonly contextSize: number;

  constructor(
    private readonly model: LlamaModel,
    private readonly options: LlamaEmbedderOptions,
  ) {
    this.contextSize = Math.min(options.contextSize, model.trainContextSize);
    const tokens: unknown = model.fileInfo.metadata.tokenizer?.ggml?.tokens;
    this.vocabularySize = Array.isArray(tokens) ? tokens.length : Number.POSITIVE_INFINITY;
    // A generative model's hidden state is not trained to be cut short: `dimensions` below its size is refused.
    this.listed = [
      { id: options.name, ownedBy: 'autoglm', created: 0, dimensions: model.embeddingVectorSize, shortenable: false, maxInputTokens: this.contextSize - 1 },
    ];
  }

  models(): EmbeddingModelInfo[] {
    return this.listed;
  }

  /** The embedding context, made once; a failed attempt is forgotten so the next request tries again. */
  private embeddingContext(): Promise<LlamaEmbeddingContext> {
    this.context ??= this.model.createEmbeddingContext({ contextSize: this.contextSize, threads: this.options.threads }).catch((err: unknown) => {
      this.context = undefined;
      throw err;
    });
    return this.context;
  }

  async embed(req: EmbeddingRequest, ctx: CallContext): Promise<Embeddings> {
    if (req.model !== this.options.name) throw modelNotFound(req.model, [this.options.name]);
    const context = await this.embeddingContext();
    // Every input is tokenized and measured before any is evaluated: a batch with one input too long costs nothing.
    const inputs = req.inputs.map((input, index) => {
      const tokens = typeof input === 'string' ? this.model.tokenize(input) : this.checkedTokens(input, index);
      // With the beginning and end tokens the model adds, as it will evaluate them; node-llama-cpp adds them in place.
      const length = context.calculateInputLength(tokens.slice());
      if (length >= this.contextSize) throw inputTooLong(index, length, this.contextSize - 1, req.model);
      return { tokens, length };
    });
    const vectors: number[][] = [];
    let promptTokens = 0;
    for (const { tokens, length } of inputs) {
      ctx.signal.throwIfAborted();
      const embedding = await context.getEmbeddingFor(tokens.slice());
      vectors.push(l2Normalize(embedding.vector));
      promptTokens += length;
    }
    return { vectors, usage: { promptTokens } };
  }

  /** Token ids from the wire, checked against the vocabulary: llama.cpp aborts the process on an id it does not have. */
  private checkedTokens(input: readonly number[], index: number): Token[] {
    for (const id of input) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabularySize) {
        throw invalidRequest(`'input[${index}]' holds the token id ${id}; the model '${this.options.name}' has ids 0 to ${this.vocabularySize - 1}.`, 'input');
      }
    }
    return input as Token[];
  }

  async dispose(): Promise<void> {
    const context = this.context;
    this.context = undefined;
    await (await context?.catch(() => undefined))?.dispose();
  }
}
