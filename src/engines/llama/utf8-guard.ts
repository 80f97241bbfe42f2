// Keeps an answer written under a grammar valid UTF-8, so that its text is what the grammar allowed.
//
// Why: llama.cpp's grammar reads a token's bytes leniently. A lead byte followed by any byte counts as one character
// (its decoder never checks that continuation bytes are 10xxxxxx), so a model with byte tokens (SentencePiece's
// <0xE4>, or a byte-level BPE piece) can spell bytes that the grammar counts as one character and text decodes into
// several U+FFFD: a string under `maxLength: 12` came out 15 characters long. node-llama-cpp has no byte-level
// sampler, so this one follows the answer's bytes with a UTF-8 automaton and biases out, before each sampling, every
// token whose bytes could not come next in valid UTF-8.
import { TokenBias, type LlamaModel, type Token } from 'node-llama-cpp';

/**
 * The automaton's states: 0 is between characters; the others say which bytes may follow. The ranges are those of
 * well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF), which is what TextDecoder accepts.
 */
const BETWEEN = 0;
const STATES = 8;
const REJECT = -1;

function step(state: number, byte: number): number {
  const continues = (lo: number, hi: number, next: number) => (byte >= lo && byte <= hi ? next : REJECT);
  switch (state) {
    case BETWEEN:
      if (byte <= 0x7f) return BETWEEN;
      if (byte >= 0xc2 && byte <= 0xdf) return 1;
      if (byte === 0xe0) return 4;
      if (byte === 0xed) return 5;
      if (byte >= 0xe1 && byte <= 0xef) return 2;
      if (byte === 0xf0) return 6;
      if (byte >= 0xf1 && byte <= 0xf3) return 3;
      if (byte === 0xf4) return 7;
      return REJECT;
    case 1:
      return continues(0x80, 0xbf, BETWEEN);
    case 2:
      return continues(0x80, 0xbf, 1);
    case 3:
      return continues(0x80, 0xbf, 2);
    case 4:
      return continues(0xa0, 0xbf, 1);
    case 5:
      return continues(0x80, 0x9f, 1);
    case 6:
      return continues(0x90, 0xbf, 2);
    default:
      return continues(0x80, 0x8f, 2);
  }
}

/** GPT-2's byte-level BPE spells each byte as one printable character; this is that table read backwards. */
function byteLevelDecoder(): Map<number, number> {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const decode = new Map<number, number>();
  let shifted = 0;
  for (let b = 0; b < 256; b++) decode.set(printable(b) ? b : 256 + shifted++, b);
  return decode;
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** A vocabulary entry's bytes as the detokenizer writes them. */
function tokenBytes(piece: string, byteLevel: Map<number, number> | undefined): number[] {
  const byte = BYTE_TOKEN.exec(piece);
  if (byte) return [Number.parseInt(byte[1]!, 16)];
  if (byteLevel) {
    const bytes: number[] = [];
    for (const char of piece) {
      const b = byteLevel.get(char.codePointAt(0)!);
      // A piece outside the byte alphabet (an added token) is text as written.
      if (b === undefined) return [...Buffer.from(piece, 'utf8')];
      bytes.push(b);
    }
    return bytes;
  }
  return [...Buffer.from(piece, 'utf8')];
}

/** The vocabulary's byte behaviour, worked out once per model: where each token leads from each state. */
export class Utf8Guard {
  private readonly biases: (TokenBias | undefined)[] = [];

  private constructor(
    private readonly model: LlamaModel,
    /** transitions[token * STATES + state]: the state after the token, or REJECT. */
    private readonly transitions: Int8Array,
  ) {}

  private static readonly byModel = new WeakMap<LlamaModel, Utf8Guard | null>();

  /** The guard of a model, or undefined when its vocabulary is not in its file (nothing to guard by then). */
  static of(model: LlamaModel): Utf8Guard | undefined {
    let guard = Utf8Guard.byModel.get(model);
    if (guard === undefined) {
      guard = Utf8Guard.build(model);
      Utf8Guard.byModel.set(model, guard);
    }
    return guard ?? undefined;
  }

  private static build(model: LlamaModel): Utf8Guard | null {
    const tokenizer = (model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: unknown; model?: unknown } } }).tokenizer?.ggml;
    const pieces = tokenizer?.tokens;
    if (!Array.isArray(pieces)) return null;
    const byteLevel = tokenizer?.model === 'gpt2' ? byteLevelDecoder() : undefined;
    const transitions = new Int8Array(pieces.length * STATES);
    for (const [token, piece] of pieces.entries()) {
      const attributes = model.getTokenAttributes(token as Token);
      // Control tokens are not text: they may come between characters, never inside one.
      const bytes =
        typeof piece !== 'string' || attributes.control
          ? []
          : attributes.byte
            ? tokenBytes(piece, undefined)
            : tokenBytes(piece.replaceAll('\u2581', ' '), byteLevel);
      for (let start = 0; start < STATES; start++) {
        let state = start;
        if (bytes.length === 0 && start !== BETWEEN) state = REJECT;
        for (const b of bytes) {
          state = step(state, b);
          if (state === REJECT) break;
        }
        transitions[token * STATES + start] = state;
      }
    }
    return new Utf8Guard(model, transitions);
  }

  /** A reader of one answer's bytes, which says what may come next. */
  reader(): Utf8Reader {
    return new Utf8Reader(this);
  }

  /** @internal The state after a token (unknown tokens leave it). */
  next(state: number, token: Token): number {
    const index = token * STATES + state;
    if (index >= this.transitions.length) return state;
    const next = this.transitions[index]!;
    // A token that breaks UTF-8 was sampled anyway (only a grammar overrides the bias): start afresh after it.
    return next === REJECT ? BETWEEN : next;
  }

  /** @internal Whether a token's bytes may follow in this state. */
  allows(state: number, token: Token): boolean {
    return this.transitions[token * STATES + state] !== REJECT;
  }

  /** @internal The bias that leaves out every token that cannot follow in this state, built once per state. */
  bias(state: number): TokenBias {
    let bias = this.biases[state];
    if (!bias) {
      bias = new TokenBias(this.model.tokenizer);
      for (let token = 0; token * STATES < this.transitions.length; token++) {
        if (!this.allows(state, token as Token)) bias.set(token as Token, 'never');
      }
      this.biases[state] = bias;
    }
    return bias;
  }
}

/** One answer's place in the UTF-8 automaton. */
export class Utf8Reader {
  private state = BETWEEN;

  constructor(private readonly guard: Utf8Guard) {}

  push(token: Token): void {
    this.state = this.guard.next(this.state, token);
  }

  /** Whether the token may come next. */
  allows(token: Token): boolean {
    return this.guard.allows(this.state, token);
  }

  /** The sampling bias for the next token. */
  readonly bias = (): TokenBias => this.guard.bias(this.state);
}
