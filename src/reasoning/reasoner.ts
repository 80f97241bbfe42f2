// The reasoner: a ChatModel around the router. A request that asks for reasoning (a `strategy:` model prefix, the
// `reasoning` field, or a server default) runs a strategy of calls to the model below, escalates while its confidence
// is low, and answers as one ordinary completion whose usage counts every token spent, all within a token budget.
import {
  AutoglmError,
  complete,
  fnv1aString,
  invalidRequest,
  type CallContext,
  type ChatChunk,
  type ChatCompletion,
  type ChatModel,
  type ChatRequest,
  type ReasoningOptions,
  type StrategyName,
} from '../core/index.js';
import { reasoningOptionsFrom, type ReasoningConfig } from '../config/index.js';
import { BudgetSpent, TokenBudget } from './budget.js';
import { nextEscalation, type Attempt, type Escalation } from './feedback.js';
import { chooseStrategy } from './selector.js';
import {
  bestOfN,
  chainOfThought,
  direct,
  planAndSolve,
  reflectAndRevise,
  retrievalAugmented,
  selfConsistency,
  type Retriever,
  type Sample,
  type StrategyEnv,
  type StrategyResult,
} from './strategies.js';
import { StrategyCalls } from './strategy-calls.js';
import { parseStrategyModel, unknownStrategyPrefix } from './strategy-spec.js';
import { classifyTask } from './task-parser.js';

const DEFAULT_SAMPLES = 8;
/** What an answer is assumed to need when the caller sets no max_tokens: the selector's costing, and rag's room. */
const DEFAULT_COMPLETION_TOKENS = 256;
/** A vote's answers are shown this long at most: a free-text "answer" can be a whole sample. */
const VOTE_ANSWER_CHARS = 80;

type Resolved = { model: string; options: ReasoningOptions & { strategy: StrategyName } };

/** Options given later win, but only where they say something: an unset field keeps the earlier value. */
function merge(...layers: (ReasoningOptions | undefined)[]): ReasoningOptions {
  const out: ReasoningOptions = {};
  for (const layer of layers) for (const [k, v] of Object.entries(layer ?? {})) if (v !== undefined) Object.assign(out, { [k]: v });
  return out;
}

export function withReasoning(inner: ChatModel, config: ReasoningConfig, retriever?: Retriever & { size: number }): ChatModel {
  const cascade = new Map(Object.entries(config.cascade));
  const served = (id: string) => inner.models().some((m) => m.id === id);

  /** The model and reasoning a request asks for, or undefined for a plain call. */
  function resolve(req: ChatRequest): Resolved | undefined {
    // Most calls ask for nothing: no prefix (which needs a colon), no field, no defaults for the model.
    if (!req.reasoning && !req.model.includes(':') && !Object.hasOwn(config.defaults, req.model)) return undefined;
    // A served name with a colon in it (`llama3:8b`) is a model, not a strategy on one.
    const parsed = req.model.includes(':') && served(req.model) ? { model: req.model } : parseStrategyModel(req.model);
    if ('prefix' in parsed && parsed.prefix !== undefined) {
      const refused = unknownStrategyPrefix(req.model, served);
      if (refused) throw refused;
    }
    const { model } = parsed;
    const spec = 'spec' in parsed ? parsed.spec : undefined;
    const defaults: ReasoningOptions = reasoningOptionsFrom(config.defaults[model]) ?? {};
    const options = merge(defaults, req.reasoning, spec?.options);
    const asked = spec?.strategy ?? req.reasoning?.strategy;
    // A strategy answers in text of its own making; a call offering tools or asking for the model's token
    // probabilities is answered plainly, unless its caller asked for a strategy.
    const strategy = asked ?? (req.tools || req.logprobs ? undefined : defaults.strategy);
    return strategy ? { model, options: { ...options, strategy } } : undefined;
  }

  async function run(req: ChatRequest, ctx: CallContext, model: string, options: Resolved['options']): Promise<ChatCompletion> {
    if (req.n > 1) throw invalidRequest('n > 1 cannot be combined with a reasoning strategy; send n = 1.', 'n');
    if (req.tools)
      throw invalidRequest('tools cannot be combined with a reasoning strategy: strategies answer in text. Send the tools without a strategy.', 'tools');
    if (req.logprobs)
      throw invalidRequest("logprobs cannot be combined with a reasoning strategy: its answer is not one sample's tokens. Send one or the other.", 'logprobs');
    const budget = new TokenBudget(options.budgetTokens ?? config.budgetTokens);
    const calls = new StrategyCalls(inner, ctx, budget);
    try {
      return await reason(req, ctx, model, options, budget, calls);
    } finally {
      calls.close();
    }
  }

  async function reason(
    req: ChatRequest,
    ctx: CallContext,
    model: string,
    options: Resolved['options'],
    budget: TokenBudget,
    calls: StrategyCalls,
  ): Promise<ChatCompletion> {
    const messages = req.input.type === 'messages' ? req.input.messages : [{ role: 'user' as const, content: req.input.text }];
    const question = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    const task = classifyTask(question);
    const base = (to: string): StrategyEnv['base'] => ({ ...req, model: to, input: { type: 'messages', messages } });
    const promptTokens = await calls.promptTokens(base(model));
    const tokensPerCall = promptTokens + (req.maxTokens ?? DEFAULT_COMPLETION_TOKENS);
    const chosen =
      options.strategy === 'auto'
        ? chooseStrategy(task, budget.total, tokensPerCall, (retriever?.size ?? 0) > 0)
        : { strategy: options.strategy, maxSamples: undefined };
    // Fixed-size strategies draw `samples`, adaptive ones stop at `max_samples`; either way the attempt carries the
    // count, so an escalation to more samples takes effect.
    const asked = chosen.strategy === 'asc' ? (options.maxSamples ?? options.samples) : (options.samples ?? options.maxSamples);
    let attempt: Attempt = { strategy: chosen.strategy, model, confidence: undefined, maxSamples: asked ?? chosen.maxSamples ?? DEFAULT_SAMPLES };
    const escalations: Escalation[] = [];
    const tried = new Set<string>();
    const seed = req.seed ?? hashSeed(ctx.requestId);
    const threshold = options.confidence ?? config.confidence;
    const room = async (r: ChatRequest) => {
      const context = calls.contextSize(r.model);
      return context === undefined ? undefined : context - (await calls.promptTokensAtMost(r)) - (r.maxTokens ?? DEFAULT_COMPLETION_TOKENS);
    };
    let result: StrategyResult | undefined;
    /** The attempt whose answer is given: an escalation the budget could not pay for leaves the one before. */
    let answered = attempt;
    let prior: readonly Sample[] = [];
    for (;;) {
      const env: StrategyEnv = { ask: (r, share) => calls.ask(r, share), base: base(attempt.model), task, seed, room };
      let got: StrategyResult;
      try {
        got = await runStrategy(attempt, env, retriever, config.retrieval?.topK ?? 4, prior, ctx);
      } catch (err) {
        if (!(err instanceof BudgetSpent)) throw err;
        // Nothing was spent on a request whose budget cannot pay for one call; an escalation it cannot pay for is
        // simply not made, and the answer so far stands.
        if (!result) throw budgetTooSmall(budget.total, budget.refusedPrompt ?? promptTokens);
        escalations.pop();
        break;
      }
      // More samples the budget could not pay for added nothing: the escalation did not happen.
      if (prior.length > 0 && got.samples === prior.length) escalations.pop();
      result = got;
      answered = attempt = {
        ...attempt,
        confidence: got.confidence,
        taken: got.drawn?.length,
        leaderVotes: got.answer === undefined ? 0 : got.votes?.[got.answer],
        settled: got.settled,
      };
      if (budget.refused) break;
      const next = escalations.length < config.maxEscalations ? nextEscalation(attempt, threshold, cascade, tried) : undefined;
      if (!next) break;
      escalations.push(next);
      prior = [];
      if (next.kind === 'stronger_strategy') attempt = { ...attempt, strategy: next.strategy, taken: undefined, leaderVotes: undefined, settled: undefined };
      if (next.kind === 'more_samples') {
        tried.add(`samples:${next.maxSamples}`);
        // The vote goes on from the samples it has: drawing them again would spend tokens on the same answers.
        prior = got.drawn ?? [];
        attempt = { ...attempt, maxSamples: next.maxSamples };
      }
      if (next.kind === 'larger_model') {
        tried.add(`model:${next.model}`);
        attempt = { ...attempt, model: next.model, taken: undefined, leaderVotes: undefined, settled: undefined };
      }
    }
    // Whatever the budget cut short is said as OpenAI says a token limit did: the answer is there, but incomplete.
    const finishReason = budget.exhausted ? 'length' : result.finishReason;
    const report = {
      strategy: answered.strategy,
      requested: options.strategy,
      task,
      model: answered.model,
      calls: calls.calls,
      samples: result.samples,
      confidence: result.confidence === undefined ? null : Math.round(result.confidence * 1000) / 1000,
      answer: result.answer ?? null,
      votes: votesOf(result.votes),
      escalations,
      budget: { tokens: budget.total, used: budget.used, exhausted: budget.exhausted },
      ...(result.sources ? { sources: result.sources, passages_cut: result.passagesCut ?? false } : {}),
      ...(options.includeSamples ? { sample_texts: (result.drawn ?? [result]).map((s) => s.text) } : {}),
    };
    if (ctx.report) {
      ctx.report.reasoning = report;
      calls.report(ctx.report);
      Object.assign(ctx.report.headers, {
        'x-autoglm-strategy': answered.strategy,
        'x-autoglm-reasoning-calls': String(calls.calls),
        ...(result.confidence === undefined ? {} : { 'x-autoglm-confidence': String(report.confidence) }),
      });
      if (answered.model !== model) ctx.report.model = answered.model;
    }
    return { choices: [{ index: 0, text: result.text, finishReason }], usage: calls.usage };
  }

  return {
    models: () => inner.models(),
    ...(inner.countTokens && { countTokens: (req: ChatRequest) => inner.countTokens!(req) }),

    complete(req, ctx) {
      let asked: Resolved | undefined;
      try {
        asked = resolve(req);
      } catch (err) {
        return Promise.reject(err);
      }
      return asked ? run(req, ctx, asked.model, asked.options) : complete(inner, req, ctx);
    },

    // A plain call is the inner stream itself, not a generator around it: every chunk would pay for the hop.
    stream(req, ctx) {
      let asked: Resolved | undefined;
      try {
        asked = resolve(req);
      } catch (err) {
        return failed(err);
      }
      const resolved = asked;
      return resolved ? reasonedStream(() => run(req, ctx, resolved.model, resolved.options)) : inner.stream(req, ctx);
    },
  };
}

/** A refusal found before streaming (an unknown strategy), thrown where a stream's errors are caught. */
// biome-ignore lint/correctness/useYield: a stream that fails on its first read is what the caller consumes
async function* failed(err: unknown): AsyncGenerator<ChatChunk> {
  throw err;
}

/** A strategy's answer is known only at its end: it is streamed as one piece. */
async function* reasonedStream(answer: () => Promise<ChatCompletion>): AsyncGenerator<ChatChunk> {
  const result = await answer();
  const choice = result.choices[0]!;
  yield { type: 'text-delta', index: 0, text: choice.text };
  yield { type: 'finish', index: 0, reason: choice.finishReason };
  yield { type: 'usage', usage: result.usage };
}

const budgetTooSmall = (budget: number, promptTokens: number) =>
  new AutoglmError(
    400,
    'invalid_request_error',
    'reasoning_budget_exhausted',
    `reasoning.budget_tokens ${budget} cannot pay for one call: the prompt alone takes about ${promptTokens} tokens. Raise budget_tokens; nothing was spent.`,
    'reasoning.budget_tokens',
  );

/** A vote as its answers and counts, most votes first; long free-text answers are clipped (the texts are on request). */
function votesOf(votes: Record<string, number> | undefined): { answer: string; count: number }[] | null {
  if (!votes) return null;
  return Object.entries(votes)
    .sort((a, b) => b[1] - a[1])
    .map(([answer, count]) => ({ answer: answer.length > VOTE_ANSWER_CHARS ? `${answer.slice(0, VOTE_ANSWER_CHARS - 1)}…` : answer, count }));
}

function runStrategy(
  attempt: Attempt,
  env: StrategyEnv,
  retriever: Retriever | undefined,
  topK: number,
  prior: readonly Sample[],
  ctx: CallContext,
): Promise<StrategyResult> {
  const samples = attempt.maxSamples ?? DEFAULT_SAMPLES;
  switch (attempt.strategy) {
    case 'direct':
      return direct(env);
    case 'cot':
      return chainOfThought(env);
    case 'plan':
      return planAndSolve(env);
    case 'sc':
      return selfConsistency(env, samples, false, prior);
    case 'asc':
      return selfConsistency(env, samples, true, prior);
    case 'bon':
      return bestOfN(env, samples, prior);
    case 'reflect':
      return reflectAndRevise(env);
    case 'rag':
      if (!retriever)
        throw invalidRequest(
          'The rag strategy needs a document index: build one with `autoglm index add` and name it in the config (reasoning.retrieval.index) or with --index.',
          'reasoning.strategy',
        );
      return retrievalAugmented(env, retriever, topK, ctx);
  }
}

/** A request without a seed still samples reproducibly within itself. */
const hashSeed = (text: string): number => fnv1aString(text) & 0x7fffffff;
