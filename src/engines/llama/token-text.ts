// Streams token text safely: each piece decoded after the text before it (so SentencePiece keeps the space that
// starts a word), and a multi-byte character split across tokens held until it is whole.
import type { LlamaModel, Token } from 'node-llama-cpp';

const REPLACEMENT_CHAR = '\uFFFD';
/** A UTF-8 character spans at most 4 bytes, so at most 4 byte-tokens can be pending. */
const MAX_PENDING = 4;
/** Tokens of left context that sentencepiece needs to render a leading space correctly. */
const CONTEXT_TOKENS = 4;

export class TokenTextDecoder {
  private pending: Token[] = [];
  /** The last few tokens already emitted: left context for the next piece. */
  private recent: Token[];

  /**
   * `context` is what precedes the first generated token (the prompt): decoded alone, a first piece like "▁little"
   * would lose its space, as it does at the start of a document.
   */
  constructor(
    private readonly model: LlamaModel,
    context: readonly Token[] = [],
  ) {
    this.recent = context.slice(-CONTEXT_TOKENS);
  }

  /** Text that became complete with this token (often the token's own text, sometimes empty). */
  push(token: Token): string {
    this.pending.push(token);
    const text = this.model.detokenize(this.pending, false, this.recent);
    if (text.endsWith(REPLACEMENT_CHAR) && this.pending.length < MAX_PENDING) return '';
    this.recent = [...this.recent, ...this.pending].slice(-CONTEXT_TOKENS);
    this.pending = [];
    return text;
  }
}
