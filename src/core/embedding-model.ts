// The second contract beside ChatModel: texts (or token ids) in, one vector each out. Engines that can embed implement
// it; the layers that make sense for it (router pools, tenancy, metrics, cache) wrap it the same way they wrap chat.
import { invalidRequest } from './errors.js';
import type { CallContext, ModelInfo } from './chat-model.js';

/** One input: text, or token ids of the model's own tokenizer (OpenAI's `input` accepts both). */
export type EmbeddingInput = string | readonly number[];

/** Our own normalized request; the wire's `input` (one or many, text or tokens) arrives here as a list. */
export interface EmbeddingRequest {
  model: string;
  inputs: readonly EmbeddingInput[];
  /** Vectors of this many dimensions: shortened and normalized again, where the model's vectors allow it. */
  dimensions?: number;
  /** The end user, as OpenAI's `user` field names them. */
  user?: string;
}

export interface EmbeddingUsage {
  promptTokens: number;
}

/** One vector per input, in the order of the inputs. */
export interface Embeddings {
  vectors: number[][];
  usage: EmbeddingUsage;
}

/** What an embedding model tells about itself, beyond what /v1/models lists. */
export interface EmbeddingModelInfo extends ModelInfo {
  /** Length of its vectors, when known before the first call. */
  dimensions?: number;
  /** Whether a prefix of its vectors is itself a useful vector (trained so, or a hashed bag of words), so `dimensions` may shorten them. */
  shortenable?: boolean;
  /** The longest input it embeds, in tokens. */
  maxInputTokens?: number;
}

export interface EmbeddingModel {
  /** The models this EmbeddingModel embeds with. */
  models(): EmbeddingModelInfo[];
  embed(req: EmbeddingRequest, ctx: CallContext): Promise<Embeddings>;
}

/** A vector scaled to length 1 (OpenAI's are), so that a dot product is the cosine; a zero vector stays zero. */
export function l2Normalize(vector: readonly number[]): number[] {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum);
  return norm === 0 ? [...vector] : vector.map((x) => x / norm);
}

/** The 400 for an input past the model's limit: which input, how long it is, and the limit. */
export const inputTooLong = (index: number, tokens: number, limit: number, model: string) =>
  invalidRequest(
    `'input[${index}]' is ${tokens} tokens; the model '${model}' embeds at most ${limit}. Split the text into shorter pieces.`,
    'input',
    'context_length_exceeded',
  );

/**
 * `dimensions` served above any model that does not handle it: shortened and normalized again where the model's vectors
 * allow it, refused (400) where they do not; a model that does not say how long its vectors are gets it passed down.
 */
export function withDimensions(inner: EmbeddingModel): EmbeddingModel {
  return {
    models: () => inner.models(),
    async embed(req, ctx) {
      if (req.dimensions === undefined) return inner.embed(req, ctx);
      const info = inner.models().find((m) => m.id === req.model);
      if (info?.dimensions === undefined) return inner.embed(req, ctx);
      const { dimensions } = req;
      if (dimensions === info.dimensions) return inner.embed({ ...req, dimensions: undefined }, ctx);
      if (!info.shortenable || dimensions > info.dimensions) {
        throw invalidRequest(
          info.shortenable
            ? `'dimensions' is ${dimensions}; the model '${req.model}' makes vectors of ${info.dimensions}, and can only shorten them.`
            : `'dimensions' is ${dimensions}; the model '${req.model}' makes vectors of ${info.dimensions} and cannot shorten them. Leave 'dimensions' out.`,
          'dimensions',
        );
      }
      const result = await inner.embed({ ...req, dimensions: undefined }, ctx);
      return { ...result, vectors: result.vectors.map((v) => l2Normalize(v.slice(0, dimensions))) };
    },
  };
}

/** An engine that can embed as well as chat offers its EmbeddingModel here (sharing its model and connections). */
export interface EmbeddingCapable {
  readonly embeddings: EmbeddingModel;
}

/** The EmbeddingModel an engine offers, if it offers one. */
export const embeddingsOf = (engine: object): EmbeddingModel | undefined => ('embeddings' in engine ? (engine as EmbeddingCapable).embeddings : undefined);
