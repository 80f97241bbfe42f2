// The calls one reasoned request makes to the model below: each is paid from the request's token budget, gets its own
// abort signal (fanned out from one listener on the request's, however many samples run at once) and its own report,
// which are gathered into the request's: the cache's word covers every call, not only the last one to finish.
import { CACHE_HEADER } from '../cache/index.js';
import {
  AbortFanOut,
  complete,
  emptyUsage,
  estimateTokens,
  promptTextOf,
  type CallContext,
  type CallReport,
  type ChatCompletion,
  type ChatModel,
  type ChatRequest,
  type Usage,
} from '../core/index.js';
import type { TokenBudget } from './budget.js';

export const CACHE_HITS_HEADER = 'x-autoglm-cache-hits';
/** The context of a model that does not say: the embedded engine's default, the smallest usually served. */
const ASSUMED_CONTEXT_TOKENS = 2048;

export class StrategyCalls {
  /** Calls made, and how many of them the response cache looked up and answered. */
  calls = 0;
  /** Every call's tokens: the reasoned answer's usage. */
  readonly usage: Usage = emptyUsage();
  private looked = 0;
  private hits = 0;
  private readonly signals: AbortFanOut;
  /** Prompt tokens per estimated token, learnt from the usage of calls, for a model below that cannot count them. */
  private ratio = 1;
  /** Models whose prompts were estimated: a gateway may count some pools' prompts (embedded ones) and not others. */
  private readonly estimated = new Set<string>();

  constructor(
    private readonly inner: ChatModel,
    private readonly ctx: CallContext,
    private readonly budget: TokenBudget,
  ) {
    this.signals = new AbortFanOut(ctx.signal);
  }

  /** The tokens a request's prompt takes: the model's own count when it can give one, an estimate otherwise. */
  async promptTokens(req: ChatRequest): Promise<number> {
    if (this.inner.countTokens) {
      const counted = await Promise.resolve()
        .then(() => this.inner.countTokens!(req))
        .catch(() => undefined);
      if (counted !== undefined) return counted;
    }
    this.estimated.add(req.model);
    return Math.ceil(estimateTokens(promptTextOf(req)) * this.ratio);
  }

  /**
   * The tokens a request's prompt takes, never less than the truth: the model's count, or else one token per byte
   * (no tokenizer makes a token of less than a byte).
   */
  async promptTokensAtMost(req: ChatRequest): Promise<number> {
    if (this.inner.countTokens) {
      const counted = await Promise.resolve(this.inner.countTokens(req)).catch(() => undefined);
      if (counted !== undefined) return counted;
    }
    return Buffer.byteLength(promptTextOf(req)) + 8;
  }

  /** The context size of the model a request goes to, when the model below says. */
  contextSize(model: string): number | undefined {
    return this.inner.models().find((m) => m.id === model)?.contextSize;
  }

  /** One call of `share` made together, paid from the budget (which caps its max_tokens); throws BudgetSpent. */
  async ask(req: ChatRequest, share = 1): Promise<ChatCompletion> {
    const prompt = await this.promptTokens(req);
    const grant = this.budget.grant(prompt, share, req.maxTokens);
    // Without max_tokens a call may fill the context; the budget's cap is sent only when it is the tighter limit. A
    // model whose context is not known (a gateway pool) is taken to have the smallest one served here, so the cap
    // sent never asks an upstream for more than its context holds.
    const room = (this.contextSize(req.model) ?? ASSUMED_CONTEXT_TOKENS) - prompt;
    const maxTokens = req.maxTokens !== undefined || grant.completionTokens < room ? grant.completionTokens : undefined;
    const controller = this.signals.child();
    const report: CallReport = { headers: {} };
    this.calls++;
    let used = 0;
    try {
      const call = () =>
        complete(this.inner, { ...req, maxTokens, n: 1, stream: false, reasoning: undefined }, { ...this.ctx, signal: controller.signal, report });
      // Each of a strategy's calls is its own span when traced: samples, votes and reflections show as siblings.
      const trace = this.ctx.trace;
      const result = await (trace
        ? trace.span(
            'reasoning.call',
            { 'autoglm.reasoning.call': this.calls, 'gen_ai.request.model': req.model, 'gen_ai.request.max_tokens': maxTokens },
            async (span) => {
              const answered = await call();
              span.set({ 'gen_ai.usage.input_tokens': answered.usage.promptTokens, 'gen_ai.usage.output_tokens': answered.usage.completionTokens });
              return answered;
            },
          )
        : call());
      used = result.usage.promptTokens + result.usage.completionTokens;
      const capped = grant.completionTokens < Math.min(req.maxTokens ?? Infinity, room);
      if (capped && result.choices[0]?.finishReason === 'length') this.budget.cut = true;
      this.usage.promptTokens += result.usage.promptTokens;
      this.usage.completionTokens += result.usage.completionTokens;
      this.usage.cachedPromptTokens += result.usage.cachedPromptTokens;
      if (this.estimated.has(req.model) && result.usage.promptTokens > 0)
        this.ratio = Math.max(this.ratio, result.usage.promptTokens / Math.max(1, estimateTokens(promptTextOf(req))));
      return result;
    } finally {
      grant.settle(used);
      this.signals.release(controller);
      this.gather(report);
    }
  }

  /** Stops listening on the request's signal: the calls are over. */
  close(): void {
    this.signals.close();
  }

  /** hit when every call was answered from the cache, partial when some were, miss when none; undefined if never looked. */
  cacheStatus(): 'hit' | 'partial' | 'miss' | undefined {
    if (this.looked === 0) return undefined;
    return this.hits === this.calls ? 'hit' : this.hits === 0 ? 'miss' : 'partial';
  }

  /** Writes what the calls learnt into the request's report. */
  report(into: CallReport): void {
    const status = this.cacheStatus();
    if (status === undefined) return;
    // The ledger and the limits treat a hit as free: only a request that made no call upstream is one.
    into.cache = status;
    into.headers[CACHE_HEADER] = status;
    into.headers[CACHE_HITS_HEADER] = `${this.hits}/${this.calls}`;
  }

  private gather(report: CallReport): void {
    const outer = this.ctx.report;
    if (outer) {
      // What the layers below learnt (replica, model version, ...) reaches the request as if they had written it
      // there, the latest call last; only the cache's word is the reasoner's own, made of every call's.
      const {
        headers: { [CACHE_HEADER]: _cache, ...headers },
        cache: _status,
        reasoning: _reasoning,
        ...facts
      } = report;
      Object.assign(outer.headers, headers);
      for (const [key, value] of Object.entries(facts)) if (value !== undefined) Object.assign(outer, { [key]: value });
    }
    if (report.cache !== undefined) this.looked++;
    if (report.cache === 'hit') this.hits++;
  }
}
