// The token budget of one reasoned request: every call's prompt and completion are paid from it, so a strategy stops
// with the best answer it has instead of spending past the caller's limit, or failing after spending it.

/** Thrown for a call the budget cannot pay for; strategies catch it and answer with what they have. */
export class BudgetSpent extends Error {
  override name = 'BudgetSpent';
}

/** A call that may write fewer completion tokens than this could not say anything: it is not made. */
export const MIN_COMPLETION_TOKENS = 16;

/** What a granted call may write, and how its real usage is paid once it is back. */
export interface Grant {
  completionTokens: number;
  settle(usedTokens: number): void;
}

export class TokenBudget {
  private spent = 0;
  private reserved = 0;
  /** Whether work the strategy wanted to do was refused for want of tokens. */
  refused = false;
  /** The prompt of the last call refused: what the strategy really sends, its instructions and template included. */
  refusedPrompt: number | undefined;
  /** Whether a call's answer was cut at the length the budget gave it. */
  cut = false;

  constructor(readonly total: number) {}

  get used(): number {
    return this.spent;
  }

  /**
   * Tokens for one call of `share` that are about to be made from what is left (calls made together split it, so the
   * first does not starve the rest): its prompt, then up to the caller's `wanted` completion tokens. Throws
   * BudgetSpent when what is left would not pay for the prompt and a useful answer.
   */
  grant(promptTokens: number, share: number, wanted: number | undefined): Grant {
    const left = this.total - this.spent - this.reserved;
    const completion = Math.floor(left / Math.max(1, share)) - promptTokens;
    if (completion < Math.min(wanted ?? MIN_COMPLETION_TOKENS, MIN_COMPLETION_TOKENS)) {
      this.refused = true;
      this.refusedPrompt = promptTokens;
      throw new BudgetSpent(`${left} of ${this.total} tokens left; a call needs ${promptTokens} for its prompt`);
    }
    const completionTokens = wanted === undefined ? completion : Math.min(wanted, completion);
    const hold = promptTokens + completionTokens;
    this.reserved += hold;
    let settled = false;
    return {
      completionTokens,
      settle: (usedTokens: number) => {
        if (settled) return;
        settled = true;
        this.reserved -= hold;
        this.spent += usedTokens;
      },
    };
  }

  /** Whether the budget shaped the answer: a call refused, or cut short. */
  get exhausted(): boolean {
    return this.refused || this.cut;
  }

  /** Whether one more call of this prompt could be paid for (before an escalation is tried). */
  affords(promptTokens: number, wanted: number | undefined): boolean {
    return this.total - this.spent - this.reserved - promptTokens >= Math.min(wanted ?? MIN_COMPLETION_TOKENS, MIN_COMPLETION_TOKENS);
  }
}
