// Step-synchronous continuous batching: every generating sequence asks for its next token in the same step, so
// llama.cpp decodes them as one batch, and a newly arrived prompt joins the next step.
//
// Why it is needed: node-llama-cpp decodes whatever is queued as soon as its previous batch ends. Sequences whose
// requests started at different moments fall out of phase and then stay there, taking turns in small batches
// (measured here: 1 ms between requests dropped the mean batch at parallel 4 from 2.4 to 1.7 tokens, 5 ms to 1.1).
// Here a sequence's next token is only requested once no sequence is still decoding, so they stay in phase.
interface StepMember {
  readonly decoding: boolean;
  wantsNext(): boolean;
  requestNext(): void;
}

export class DecodeSteps {
  private readonly members = new Set<StepMember>();

  /**
   * `oneAtATime`: each step decodes one sequence, in turn. Used with speculative decoding: with node-llama-cpp
   * 3.21.1, sequences whose guesses share a llama.cpp batch sometimes get tokens that are not the model's (seen as
   * words spliced into others at temperature 0), while one sequence's guesses checked alone are exact.
   */
  constructor(private readonly oneAtATime = false) {}

  private last: StepMember | undefined;

  join(member: StepMember): void {
    this.members.add(member);
    this.advance();
  }

  leave(member: StepMember): void {
    this.members.delete(member);
    this.advance();
  }

  /** Starts the next step once the current one is over: no member is still decoding. */
  advance(): void {
    for (const m of this.members) if (m.decoding) return;
    if (!this.oneAtATime) {
      for (const m of this.members) if (m.wantsNext()) m.requestNext();
      return;
    }
    // The member that had the last step goes to the back of the turn order (behind any that joined since), so every
    // sequence gets its step in turn.
    if (this.last && this.members.delete(this.last)) this.members.add(this.last);
    for (const m of this.members) {
      if (!m.wantsNext()) continue;
      this.last = m;
      m.requestNext();
      return;
    }
  }
}

/** Tokens decoded ahead of a slow reader, at most; then the sequence sits out steps until it catches up. */
const MAX_AHEAD = 8;

/** One sequence's tokens, decoded in steps and handed to its reader through a small buffer. */
export class TokenPump<T> implements StepMember {
  decoding = false;
  private requested = 0;
  private ended = false;
  private stopped = false;
  private failure: unknown;
  private readonly buffer: T[] = [];
  private wake: (() => void) | undefined;
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly evaluation: AsyncIterator<T, void>,
    private readonly steps: DecodeSteps,
    /** Tokens that may be requested in all (the completion budget). */
    private readonly limit: number,
    /** End-of-generation tokens end the pump: nothing after them is ever wanted. */
    private readonly isEnd: (token: T) => boolean,
  ) {}

  wantsNext(): boolean {
    return !this.ended && !this.stopped && this.requested < this.limit && this.buffer.length < MAX_AHEAD;
  }

  requestNext(): void {
    this.decoding = true;
    this.requested++;
    this.inFlight = this.evaluation
      .next()
      .then(
        (result) => {
          if (result.done) this.ended = true;
          else {
            this.buffer.push(result.value);
            if (this.isEnd(result.value)) this.ended = true;
          }
        },
        (err: unknown) => {
          this.failure = err;
          this.ended = true;
        },
      )
      .finally(() => {
        this.decoding = false;
        this.wake?.();
        this.steps.advance();
      });
  }

  /** The next token, or undefined when generation ended. */
  async take(): Promise<T | undefined> {
    while (this.buffer.length === 0) {
      if (this.failure) throw this.failure;
      if (this.ended || this.stopped || (this.requested >= this.limit && !this.decoding)) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    const token = this.buffer.shift()!;
    // A reader that had fallen behind frees a place: let the sequence rejoin the steps.
    if (this.buffer.length === MAX_AHEAD - 1) this.steps.advance();
    return token;
  }

  /** The reader wants no more tokens; resolves once the sequence is idle (no decode in flight). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.inFlight.catch(() => undefined);
  }
}
