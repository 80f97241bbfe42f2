// Token log probabilities from what llama.cpp reports as it samples, in the terms of OpenAI's `logprobs`.
import type { LlamaModel, Token } from 'node-llama-cpp';
import { tokenProbability, type TokenLogprob, type TokenProbability } from '../../core/index.js';

/** What node-llama-cpp yields for a generated token when asked for its metadata. */
export interface SampledToken {
  token: Token;
  /** The chosen token's probability. */
  confidence?: number;
  /** Every candidate's probability (only when alternatives were asked for). */
  probabilities?: Map<Token, number>;
}

/** OpenAI's floor for a token so unlikely that its probability rounds to zero. */
const IMPOSSIBLE = -9999;

/**
 * Reads each sampled token's log probability and its `top` most likely alternatives. The probabilities are those of
 * the distribution llama.cpp sampled from: with temperature 0, the model's own; with sampling, after temperature and
 * the top-k / top-p / min-p cut (as llama.cpp's server reports them with post-sampling probabilities).
 */
export class LogprobReader {
  /** The previous token: the context a piece of SentencePiece text needs to render its leading space. */
  private previous: Token[];

  /** `context` precedes the first generated token (the prompt), so that token's text keeps its leading space too. */
  constructor(
    private readonly model: LlamaModel,
    private readonly top: number,
    context: readonly Token[] = [],
  ) {
    this.previous = context.slice(-1);
  }

  read(sampled: SampledToken): TokenLogprob {
    const p = sampled.confidence ?? sampled.probabilities?.get(sampled.token) ?? 0;
    const chosen = this.probability(sampled.token, p);
    const top = this.top > 0 && sampled.probabilities ? this.mostLikely(sampled.probabilities).map(([t, q]) => this.probability(t, q)) : [];
    this.previous = [sampled.token];
    return { ...chosen, top };
  }

  private probability(token: Token, p: number): TokenProbability {
    return tokenProbability(this.model.detokenize([token], false, this.previous), p > 0 ? Math.log(p) : IMPOSSIBLE);
  }

  /** The `top` most probable candidates, most probable first, without sorting the whole vocabulary. */
  private mostLikely(probabilities: Map<Token, number>): [Token, number][] {
    const best: [Token, number][] = [];
    for (const entry of probabilities) {
      if (best.length === this.top && entry[1] <= best[best.length - 1]![1]) continue;
      let i = best.length;
      while (i > 0 && best[i - 1]![1] < entry[1]) i--;
      best.splice(i, 0, entry);
      if (best.length > this.top) best.pop();
    }
    return best;
  }
}
