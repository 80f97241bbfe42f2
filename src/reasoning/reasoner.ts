// The reasoner: a ChatModel around the router. A request that asks for reasoning (a `strategy:` model prefix, the
// `reasoning` field, or a server default) runs a strategy of calls to the model below, escalates while its confidence
// is low, and answers as one ordinary completion whose usage counts every token spent.
import {
  AutoglmError,
  complete,
  emptyUsage,
  estimateTokens,
  fnv1aString,
  invalidRequest,
  STRATEGIES,
  type CallContext,
  type ChatChunk,
  type ChatCompletion,
  type ChatModel,
  type ChatRequest,
  type ReasoningOptions,
  type StrategyName,
  type Usage,
} from '../core/index.js';
import { reasoningOptionsFrom, type ReasoningConfig } from '../config/index.js';
import { nextEscalation, type Attempt, type Escalation } from './feedback.js';
import { chooseStrategy } from './selector.js';
import { bestOfN, chainOfThought, direct, planAndSolve, reflectAndRevise, retrievalAugmented, selfConsistency, type Retriever, type StrategyEnv, type StrategyResult } from './strategies.js';
import { classifyTask } from './task-parser.js';

const PREFIX = new RegExp(`^(${STRATEGIES.join('|')}):(.+)$`);

/** `sc:glm-4` -> strategy sc on glm-4; a name without a known prefix is just a model. */
export function parseStrategyModel(name: string): { strategy?: StrategyName; model: string } {
  const m = PREFIX.exec(name);
  return m ? { strategy: m[1] as StrategyName, model: m[2]! } : { model: name };
}

const DEFAULT_SAMPLES = 8;
const DEFAULT_COMPLETION_TOKENS = 256;

export function withReasoning(inner: ChatModel, config: ReasoningConfig, retriever?: Retriever & { size: number }): ChatModel {
  const cascade = new Map(Object.entries(config.cascade));

  /** The model and reasoning a request asks for, or undefined for a plain call. */
  function resolve(req: ChatRequest): { model: string; options: ReasoningOptions & { strategy: StrategyName } } | undefined {
    // Most calls ask for nothing: no prefix (which needs a colon), no field, no defaults for the model.
    if (!req.reasoning && !req.model.includes(':') && !Object.hasOwn(config.defaults, req.model)) return undefined;
    const { strategy: prefixed, model } = parseStrategyModel(req.model);
    const defaults: ReasoningOptions = reasoningOptionsFrom(config.defaults[model]) ?? {};
    const options = { ...defaults, ...req.reasoning };
    const asked = prefixed ?? req.reasoning?.strategy;
    // A strategy answers in text of its own making; a call offering tools or asking for the model's token
    // probabilities is answered plainly, unless its caller asked for a strategy.
    const strategy = asked ?? (req.tools || req.logprobs ? undefined : defaults.strategy);
    return strategy ? { model, options: { ...options, strategy } } : undefined;
  }

  async function run(req: ChatRequest, ctx: CallContext, model: string, options: ReasoningOptions & { strategy: StrategyName }): Promise<ChatCompletion> {
    if (req.n > 1) throw invalidRequest('n > 1 cannot be combined with a reasoning strategy; send n = 1.', 'n');
    if (req.tools) throw invalidRequest('tools cannot be combined with a reasoning strategy: strategies answer in text. Send the tools without a strategy.', 'tools');
    if (req.logprobs) throw invalidRequest("logprobs cannot be combined with a reasoning strategy: its answer is not one sample's tokens. Send one or the other.", 'logprobs');
    const messages = req.input.type === 'messages' ? req.input.messages : [{ role: 'user' as const, content: req.input.text }];
    const question = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    const task = classifyTask(question);
    const usage: Usage = emptyUsage();
    let calls = 0;
    const ask = async (r: ChatRequest) => {
      if (options.budgetTokens !== undefined && usage.promptTokens + usage.completionTokens >= options.budgetTokens) {
        throw new AutoglmError(400, 'invalid_request_error', 'reasoning_budget_exhausted', `The reasoning budget of ${options.budgetTokens} tokens was spent before an answer.`, 'reasoning.budget_tokens');
      }
      calls++;
      const result = await complete(inner, { ...r, n: 1, stream: false, reasoning: undefined }, ctx);
      usage.promptTokens += result.usage.promptTokens;
      usage.completionTokens += result.usage.completionTokens;
      usage.cachedPromptTokens += result.usage.cachedPromptTokens;
      return result;
    };
    const tokensPerCall = estimateTokens(question) + (req.maxTokens ?? DEFAULT_COMPLETION_TOKENS);
    const chosen = options.strategy === 'auto' ? chooseStrategy(task, options.budgetTokens, tokensPerCall, (retriever?.size ?? 0) > 0) : { strategy: options.strategy, maxSamples: undefined };
    // Fixed-size strategies draw `samples`, adaptive ones stop at `max_samples`; either way the attempt carries the
    // count, so an escalation to more samples takes effect.
    const asked = chosen.strategy === 'asc' ? options.maxSamples ?? options.samples : options.samples ?? options.maxSamples;
    let attempt: Attempt = { strategy: chosen.strategy, model, confidence: undefined, maxSamples: asked ?? chosen.maxSamples ?? DEFAULT_SAMPLES };
    const escalations: Escalation[] = [];
    const tried = new Set<string>();
    const seed = req.seed ?? hashSeed(ctx.requestId);
    let result: StrategyResult;
    for (;;) {
      const env: StrategyEnv = { ask, base: { ...req, model: attempt.model, input: { type: 'messages', messages } }, task, seed };
      result = await runStrategy(attempt, env, retriever, config.retrieval?.topK ?? 4);
      attempt = { ...attempt, confidence: result.confidence };
      const threshold = options.confidence ?? config.confidence;
      const next = escalations.length < config.maxEscalations ? nextEscalation(attempt, threshold, cascade, tried) : undefined;
      if (!next || (options.budgetTokens !== undefined && usage.promptTokens + usage.completionTokens >= options.budgetTokens)) break;
      escalations.push(next);
      if (next.kind === 'stronger_strategy') attempt = { ...attempt, strategy: next.strategy };
      if (next.kind === 'more_samples') {
        tried.add(`samples:${next.maxSamples}`);
        attempt = { ...attempt, maxSamples: next.maxSamples };
      }
      if (next.kind === 'larger_model') {
        tried.add(`model:${next.model}`);
        attempt = { ...attempt, model: next.model };
      }
    }
    const report = {
      strategy: attempt.strategy, requested: options.strategy, task, model: attempt.model, calls, samples: result.samples,
      confidence: result.confidence === undefined ? null : Math.round(result.confidence * 1000) / 1000,
      answer: result.answer ?? null, votes: result.votes ?? null, escalations,
      ...('sources' in result ? { sources: result.sources } : {}),
    };
    if (ctx.report) {
      ctx.report.reasoning = report;
      Object.assign(ctx.report.headers, {
        'x-autoglm-strategy': attempt.strategy,
        'x-autoglm-reasoning-calls': String(calls),
        ...(result.confidence === undefined ? {} : { 'x-autoglm-confidence': String(report.confidence) }),
      });
      if (attempt.model !== model) ctx.report.model = attempt.model;
    }
    return { choices: [{ index: 0, text: result.text, finishReason: 'stop' }], usage };
  }

  return {
    models: () => inner.models(),

    complete(req, ctx) {
      const asked = resolve(req);
      return asked ? run(req, ctx, asked.model, asked.options) : complete(inner, req, ctx);
    },

    // A plain call is the inner stream itself, not a generator around it: every chunk would pay for the hop.
    stream(req, ctx) {
      const asked = resolve(req);
      return asked ? reasonedStream(() => run(req, ctx, asked.model, asked.options)) : inner.stream(req, ctx);
    },
  };
}

/** A strategy's answer is known only at its end: it is streamed as one piece. */
async function* reasonedStream(answer: () => Promise<ChatCompletion>): AsyncGenerator<ChatChunk> {
  const result = await answer();
  yield { type: 'text-delta', index: 0, text: result.choices[0]!.text };
  yield { type: 'finish', index: 0, reason: 'stop' };
  yield { type: 'usage', usage: result.usage };
}

function runStrategy(attempt: Attempt, env: StrategyEnv, retriever: Retriever | undefined, topK: number): Promise<StrategyResult> {
  const samples = attempt.maxSamples ?? DEFAULT_SAMPLES;
  switch (attempt.strategy) {
    case 'direct':
      return direct(env);
    case 'cot':
      return chainOfThought(env);
    case 'plan':
      return planAndSolve(env);
    case 'sc':
      return selfConsistency(env, samples, false);
    case 'asc':
      return selfConsistency(env, samples, true);
    case 'bon':
      return bestOfN(env, samples);
    case 'reflect':
      return reflectAndRevise(env);
    case 'rag':
      if (!retriever) throw invalidRequest('The rag strategy needs a document index: build one with `autoglm index add` and name it in the config (reasoning.retrieval.index) or with --index.', 'reasoning.strategy');
      return retrievalAugmented(env, retriever, topK);
  }
}

/** A request without a seed still samples reproducibly within itself. */
const hashSeed = (text: string): number => fnv1aString(text) & 0x7fffffff;
