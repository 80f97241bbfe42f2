// The simulator's embeddings: a hashed bag of words, L2-normalized, so texts that share words lie close and a RAG
// test that ranks passages by them means something. Deterministic: the same text is the same vector everywhere.
import {
  fnv1aString,
  inputTooLong,
  invalidRequest,
  l2Normalize,
  type EmbeddingInput,
  type EmbeddingModel,
  type EmbeddingModelInfo,
  type EmbeddingRequest,
  type Embeddings,
} from '../../core/index.js';

/** Long enough that a few hundred distinct words seldom share a bucket. */
export const SIM_EMBEDDING_DIMENSIONS = 256;
/** As long an input as common embedding models take (OpenAI's text-embedding-3 take 8191). */
export const SIM_EMBEDDING_MAX_TOKENS = 8191;

/** Lower-cased words without their punctuation: "Cats," and "cats" are one word. */
const wordsOf = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/** A word adds ±1 to one bucket: the sign from a second hash keeps unrelated words from adding up on average. */
function bagOfWords(words: readonly string[]): number[] {
  const vector = new Array<number>(SIM_EMBEDDING_DIMENSIONS).fill(0);
  for (const word of words) {
    const h = fnv1aString(word) >>> 0;
    vector[h % SIM_EMBEDDING_DIMENSIONS]! += (h >>> 16) & 1 ? 1 : -1;
  }
  return l2Normalize(vector);
}

/** Token ids are the simulator's words too: each id is a word of its own. */
const wordsOfInput = (input: EmbeddingInput): string[] => (typeof input === 'string' ? wordsOf(input) : input.map((id) => `#${id}`));

export class SimEmbedder implements EmbeddingModel {
  private readonly listed: EmbeddingModelInfo[];

  constructor(readonly model: string) {
    this.listed = [
      { id: model, ownedBy: 'autoglm', created: 0, dimensions: SIM_EMBEDDING_DIMENSIONS, shortenable: true, maxInputTokens: SIM_EMBEDDING_MAX_TOKENS },
    ];
  }

  models(): EmbeddingModelInfo[] {
    return this.listed;
  }

  async embed(req: EmbeddingRequest): Promise<Embeddings> {
    if (req.model !== this.model) throw invalidRequest(`The model '${req.model}' does not embed here.`, 'model', 'model_not_found');
    let promptTokens = 0;
    const vectors = req.inputs.map((input, index) => {
      const words = wordsOfInput(input);
      // A text of only punctuation still costs a token, as a real tokenizer would count it.
      const tokens = Math.max(1, words.length);
      if (tokens > SIM_EMBEDDING_MAX_TOKENS) throw inputTooLong(index, tokens, SIM_EMBEDDING_MAX_TOKENS, this.model);
      promptTokens += tokens;
      return bagOfWords(words);
    });
    return { vectors, usage: { promptTokens } };
  }
}
