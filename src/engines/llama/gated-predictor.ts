// A token predictor that guesses less while its guesses fail: speculation pays only when guesses come true, and each
// refuted token still costs a share of a decode step. After a miss the next guess is one token longer than the part
// that came true (one token after a miss at its first); each guess confirmed whole doubles the next, up to
// `maxLength`; guesses that miss at their first token twice in a row pause guessing for longer and longer.
//
// Why: node-llama-cpp's predictors guess at every step whatever happened to their last guesses. On output that does
// not repeat its prompt, prompt lookup then only adds refuted tokens to each batch (measured on stories260K: 0.4-0.5x
// the tokens/s of no speculation). node-llama-cpp offers no such gate, so this one wraps its predictor.
import { type Token, TokenPredictor } from 'node-llama-cpp';

/** Guesses in a row whose first token is refuted before guessing pauses. */
const MISSES_BEFORE_PAUSE = 2;
/** Tokens without guessing after the first pause; each further miss doubles it, up to the longest pause. */
const FIRST_PAUSE = 4;
const LONGEST_PAUSE = 64;

type ResetParams = Parameters<TokenPredictor['reset']>[0];

export class GatedPredictor extends TokenPredictor {
  /** The guess being checked, and how many of its tokens the model has written so far. */
  private guess: Token[] = [];
  private confirmed = 0;
  /** Guesses in a row whose first token was refuted. */
  private misses = 0;
  /** Tokens to write without guessing after the last guess (0: guess at every step). */
  private pause = 0;
  private sinceGuess = 0;
  /** Tokens the next guess may have at most. */
  private length: number;

  constructor(
    private readonly inner: TokenPredictor,
    private readonly maxLength: number,
  ) {
    super();
    this.length = maxLength;
  }

  reset(params: ResetParams): Promise<void> | void {
    this.guess = [];
    this.misses = 0;
    this.pause = 0;
    this.length = this.maxLength;
    return this.inner.reset(params);
  }

  override updateInputTokens(tokens: Token[]): void {
    this.inner.updateInputTokens(tokens);
  }

  pushTokens(tokens: Token[]): void {
    for (const token of tokens) this.follow(token);
    this.inner.pushTokens(tokens);
  }

  /** Checks a written token against the guess: the i-th token written after a guess is the one its i-th token named. */
  private follow(token: Token): void {
    this.sinceGuess++;
    if (this.confirmed >= this.guess.length) return;
    if (this.guess[this.confirmed] === token) {
      this.confirmed++;
      this.misses = 0;
      this.pause = 0;
      if (this.confirmed === this.guess.length) this.length = Math.min(this.maxLength, this.length * 2);
      return;
    }
    const missedFirst = this.confirmed === 0;
    this.length = this.confirmed + 1;
    this.guess = [];
    if (!missedFirst) return;
    this.misses++;
    if (this.misses >= MISSES_BEFORE_PAUSE) this.pause = Math.min(LONGEST_PAUSE, this.pause ? this.pause * 2 : FIRST_PAUSE);
  }

  predictTokens(): Promise<Token[]> | Token[] {
    if (this.sinceGuess < this.pause) return [];
    const predicted = this.inner.predictTokens();
    return predicted instanceof Promise ? predicted.then((p) => this.guessed(p)) : this.guessed(predicted);
  }

  private guessed(predicted: Token[]): Token[] {
    if (predicted.length === 0) return predicted;
    const tokens = predicted.slice(0, this.length);
    this.guess = tokens;
    this.confirmed = 0;
    this.sinceGuess = 0;
    return tokens;
  }

  override stop(untilPredictionsExhausted?: boolean): Promise<void> | void {
    return this.inner.stop(untilPredictionsExhausted);
  }

  override dispose(): Promise<void> | void {
    return this.inner.dispose();
  }
}
