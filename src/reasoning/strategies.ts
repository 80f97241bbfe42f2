// The strategies: each a small program of calls to the model below (direct, chain-of-thought, plan-and-solve,
// self-consistency fixed or adaptive, best-of-N with a verifier, reflect-and-revise).
import type { CallContext, ChatCompletion, ChatMessage, ChatRequest, FinishReason } from '../core/index.js';
import { extractAnswer } from './answer-extraction.js';
import { BudgetSpent } from './budget.js';
import { fitPassages } from './passage-fit.js';
import { PROMPTS } from './prompts.js';
import type { TaskType } from './task-parser.js';
import { canStop, tally } from './voting.js';
import { arithmeticScore } from './verifier.js';

export interface StrategyEnv {
  /**
   * One call to the model below, counted in the call's usage and paid from the request's token budget: `share` is
   * how many calls, this one included, are still to be paid from what is left. Throws BudgetSpent when it cannot be.
   */
  ask(req: ChatRequest, share?: number): Promise<ChatCompletion>;
  /** The caller's request as a chat, aimed at the model below. */
  base: ChatRequest & { input: { type: 'messages'; messages: ChatMessage[] } };
  task: TaskType;
  /** Sample i is drawn with seed + i, so runs are reproducible and strategies can be compared on the same draws. */
  seed: number;
  /**
   * Context tokens a request would leave unused after its prompt and its answer, never overestimated; undefined when
   * the model's context size is unknown.
   */
  room?(req: ChatRequest): Promise<number | undefined>;
}

/** One sampled answer. */
export interface Sample {
  text: string;
  answer?: string;
  finishReason: FinishReason;
}

export interface StrategyResult {
  text: string;
  answer?: string;
  /** Undefined when the strategy has no measure of it. */
  confidence?: number;
  samples: number;
  /** How the answer shown ended: `length` when a token limit cut it. */
  finishReason: FinishReason;
  votes?: Record<string, number>;
  /** The samples a vote was taken over, in the order drawn: what an escalation to more samples continues from. */
  drawn?: Sample[];
  /** An adaptive vote that stopped by its own rule before its cap: a higher cap would stop at the same place. */
  settled?: boolean;
  /** For rag: the sources of the passages the prompt held, and whether some retrieved were left out or cut to fit. */
  sources?: string[];
  passagesCut?: boolean;
}

const REASONING_TASKS: readonly TaskType[] = ['math', 'logic'];
/** Sampling needs variety: a caller's temperature 0 (or none) becomes this for the samples. */
const SAMPLING_TEMPERATURE = 0.7;

function withSystem(req: StrategyEnv['base'], system: string): StrategyEnv['base'] {
  return { ...req, input: { type: 'messages', messages: [{ role: 'system', content: system }, ...req.input.messages] } };
}

const sample = (req: StrategyEnv['base'], seed: number, i: number): ChatRequest => ({
  ...req,
  seed: seed + i,
  temperature: req.temperature && req.temperature > 0 ? req.temperature : SAMPLING_TEMPERATURE,
});

const textOf = (c: ChatCompletion) => c.choices[0]?.text ?? '';
const sampleOf = (c: ChatCompletion, task: TaskType): Sample => ({
  text: textOf(c),
  answer: extractAnswer(textOf(c), task),
  finishReason: c.choices[0]?.finishReason ?? 'stop',
});

async function single(env: StrategyEnv, req: ChatRequest): Promise<StrategyResult> {
  const s = sampleOf(await env.ask(req), env.task);
  return singleResult(s, env.task);
}

/** One sample says nothing about its own certainty, except that an answer that cannot be found is no answer. */
const singleResult = (s: Sample, task: TaskType): StrategyResult => ({
  text: s.text,
  answer: s.answer,
  confidence: s.answer === undefined && REASONING_TASKS.includes(task) ? 0 : undefined,
  samples: 1,
  finishReason: s.finishReason,
});

export const direct = (env: StrategyEnv) => single(env, env.base);
export const chainOfThought = (env: StrategyEnv) => single(env, withSystem(env.base, PROMPTS.cot));
export const planAndSolve = (env: StrategyEnv) => single(env, withSystem(env.base, PROMPTS.plan));

/**
 * Draws `count` samples at once after those already drawn (sample i with seed + i), `remaining` of them still to be
 * paid for; calls the budget refuses are left out. Returns whether the budget refused any.
 */
async function drawInto(env: StrategyEnv, prompt: StrategyEnv['base'], drawn: Sample[], count: number, remaining: number): Promise<boolean> {
  const start = drawn.length;
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => env.ask(sample(prompt, env.seed, start + i), remaining - i)));
  let refused = false;
  for (const r of results) {
    if (r.status === 'fulfilled') drawn.push(sampleOf(r.value, env.task));
    else if (r.reason instanceof BudgetSpent) refused = true;
    else throw r.reason;
  }
  return refused;
}

/**
 * Self-consistency: chain-of-thought samples and a majority vote. Adaptive mode draws two at once, then one at a
 * time, and stops as soon as `canStop` says more samples cannot change or are not needed for the answer. `prior`
 * samples (an earlier, smaller vote on the same prompt) are kept, not drawn again. When the budget runs out the vote
 * is taken over what was drawn.
 */
export async function selfConsistency(env: StrategyEnv, max: number, adaptive: boolean, prior: readonly Sample[] = []): Promise<StrategyResult> {
  const prompt = withSystem(env.base, PROMPTS.cot);
  const drawn = [...prior];
  const answers = () => drawn.map((s) => s.answer);
  const rule = { max, agreement: 2 };
  let refused = false;
  if (!adaptive) {
    if (drawn.length < max) refused = await drawInto(env, prompt, drawn, max - drawn.length, max - drawn.length);
  } else {
    const first = Math.min(2, max) - drawn.length;
    if (first > 0) refused = await drawInto(env, prompt, drawn, first, max - drawn.length);
    while (!refused && !canStop(tally(answers()), drawn.length, rule)) refused = await drawInto(env, prompt, drawn, 1, max - drawn.length);
  }
  if (drawn.length === 0) throw new BudgetSpent('no sample could be paid for');
  const t = tally(answers());
  const at = t.leader === undefined ? 0 : answers().indexOf(t.leader);
  return {
    text: drawn[at]!.text,
    answer: t.leader,
    confidence: t.votes / drawn.length,
    samples: drawn.length,
    finishReason: drawn[at]!.finishReason,
    votes: Object.fromEntries(t.counts),
    drawn,
    settled: adaptive && !refused && drawn.length < max,
  };
}

/**
 * Best-of-N: N candidates, each scored by a verifier (agreement with the other candidates, and for arithmetic the
 * share of its written calculations that are right); the best one is returned with its score as the confidence.
 */
export async function bestOfN(env: StrategyEnv, n: number, prior: readonly Sample[] = []): Promise<StrategyResult> {
  const prompt = withSystem(env.base, PROMPTS.cot);
  const drawn = [...prior];
  if (drawn.length < n) await drawInto(env, prompt, drawn, n - drawn.length, n - drawn.length);
  if (drawn.length === 0) throw new BudgetSpent('no candidate could be paid for');
  const t = tally(drawn.map((s) => s.answer));
  const scored = drawn.map((s, i) => {
    const agreement = s.answer === undefined ? 0 : (t.counts.get(s.answer) ?? 0) / drawn.length;
    const arithmetic = env.task === 'math' ? arithmeticScore(s.text) : undefined;
    return { i, score: arithmetic === undefined ? agreement : (agreement + arithmetic) / 2 };
  });
  const best = scored.reduce((a, b) => (b.score > a.score ? b : a));
  const chosen = drawn[best.i]!;
  return {
    text: chosen.text,
    answer: chosen.answer,
    confidence: best.score,
    samples: drawn.length,
    finishReason: chosen.finishReason,
    votes: Object.fromEntries(t.counts),
    drawn,
  };
}

/**
 * Reflect-and-revise: an answer, then the model checks and corrects it; agreeing with itself counts as confidence.
 * When the budget cannot pay for the revision, the first answer stands.
 */
export async function reflectAndRevise(env: StrategyEnv): Promise<StrategyResult> {
  const first = withSystem(env.base, PROMPTS.cot);
  // The draft leaves half of what is left for the revision.
  const draft = sampleOf(await env.ask(first, 2), env.task);
  let revisedCall: ChatCompletion;
  try {
    revisedCall = await env.ask({
      ...first,
      input: { type: 'messages', messages: [...first.input.messages, { role: 'assistant', content: draft.text }, { role: 'user', content: PROMPTS.revise }] },
    });
  } catch (err) {
    if (err instanceof BudgetSpent) return singleResult(draft, env.task);
    throw err;
  }
  const revised = sampleOf(revisedCall, env.task);
  const b = revised.answer;
  return { text: revised.text, answer: b, confidence: b === undefined ? 0 : draft.answer === b ? 1 : 0.5, samples: 2, finishReason: revised.finishReason };
}

/** What the rag strategy retrieves with. */
export interface Retriever {
  /** `call` is the request's: an embedding made to re-rank is cancelled with it. */
  search(query: string, k: number, call?: Pick<CallContext, 'signal' | 'requestId'>): Promise<{ source: string; text: string; score: number }[]>;
}

/**
 * Retrieval-augmented: the passages that best match the question go in front of it, numbered for citation, as many
 * as fit in the context the question and its answer leave.
 */
export async function retrievalAugmented(
  env: StrategyEnv,
  retriever: Retriever,
  k: number,
  call?: Pick<CallContext, 'signal' | 'requestId'>,
): Promise<StrategyResult> {
  const question = [...env.base.input.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const hits = await retriever.search(question, k, call);
  const prompt = (passages: readonly { source: string; text: string }[]) =>
    withSystem(env.base, passages.length ? `${PROMPTS.rag}\n\n${passages.map((h, i) => `[${i + 1}] (${h.source}) ${h.text}`).join('\n\n')}` : PROMPTS.rag);
  const room = env.room;
  const fitted = room ? await fitPassages(hits, (chosen) => room(prompt(chosen))) : { passages: hits, cut: false };
  const result = await single(env, prompt(fitted.passages));
  return { ...result, sources: fitted.passages.map((h) => h.source), passagesCut: fitted.cut || fitted.passages.length < hits.length };
}
