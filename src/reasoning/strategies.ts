// The strategies: each a small program of calls to the model below (direct, chain-of-thought, plan-and-solve,
// self-consistency fixed or adaptive, best-of-N with a verifier, reflect-and-revise).
import type { ChatCompletion, ChatMessage, ChatRequest } from '../core/index.js';
import { extractAnswer } from './answer-extraction.js';
import { PROMPTS } from './prompts.js';
import type { TaskType } from './task-parser.js';
import { canStop, tally } from './voting.js';
import { arithmeticScore } from './verifier.js';

export interface StrategyEnv {
  /** One call to the model below, counted in the call's usage. */
  ask(req: ChatRequest): Promise<ChatCompletion>;
  /** The caller's request as a chat, aimed at the model below. */
  base: ChatRequest & { input: { type: 'messages'; messages: ChatMessage[] } };
  task: TaskType;
  /** Sample i is drawn with seed + i, so runs are reproducible and strategies can be compared on the same draws. */
  seed: number;
}

export interface StrategyResult {
  text: string;
  answer?: string;
  /** Undefined when the strategy has no measure of it. */
  confidence?: number;
  samples: number;
  votes?: Record<string, number>;
}

const REASONING_TASKS: readonly TaskType[] = ['math', 'logic'];
/** Sampling needs variety: a caller's temperature 0 (or none) becomes this for the samples. */
const SAMPLING_TEMPERATURE = 0.7;

function withSystem(req: StrategyEnv['base'], system: string): StrategyEnv['base'] {
  return { ...req, input: { type: 'messages', messages: [{ role: 'system', content: system }, ...req.input.messages] } };
}

const sample = (req: StrategyEnv['base'], seed: number, i: number): ChatRequest => ({
  ...req, seed: seed + i, temperature: req.temperature && req.temperature > 0 ? req.temperature : SAMPLING_TEMPERATURE,
});

const textOf = (c: ChatCompletion) => c.choices[0]?.text ?? '';

async function single(env: StrategyEnv, req: ChatRequest): Promise<StrategyResult> {
  const text = textOf(await env.ask(req));
  const answer = extractAnswer(text, env.task);
  // One sample says nothing about its own certainty, except that an answer that cannot be found is no answer.
  return { text, answer, confidence: answer === undefined && REASONING_TASKS.includes(env.task) ? 0 : undefined, samples: 1 };
}

export const direct = (env: StrategyEnv) => single(env, env.base);
export const chainOfThought = (env: StrategyEnv) => single(env, withSystem(env.base, PROMPTS.cot));
export const planAndSolve = (env: StrategyEnv) => single(env, withSystem(env.base, PROMPTS.plan));

/**
 * Self-consistency: chain-of-thought samples and a majority vote. Adaptive mode draws two at once, then one at a
 * time, and stops as soon as `canStop` says more samples cannot change or are not needed for the answer.
 */
export async function selfConsistency(env: StrategyEnv, max: number, adaptive: boolean): Promise<StrategyResult> {
  const prompt = withSystem(env.base, PROMPTS.cot);
  const texts: string[] = [];
  const answers: (string | undefined)[] = [];
  const draw = async (count: number) => {
    const start = texts.length;
    const results = await Promise.all(Array.from({ length: count }, (_, i) => env.ask(sample(prompt, env.seed, start + i))));
    for (const r of results) {
      texts.push(textOf(r));
      answers.push(extractAnswer(textOf(r), env.task));
    }
  };
  const rule = { max, agreement: 2 };
  if (!adaptive) await draw(max);
  else {
    await draw(Math.min(2, max));
    while (!canStop(tally(answers), texts.length, rule)) await draw(1);
  }
  const t = tally(answers);
  const at = t.leader === undefined ? 0 : answers.indexOf(t.leader);
  return { text: texts[at] ?? '', answer: t.leader, confidence: texts.length ? t.votes / texts.length : 0, samples: texts.length, votes: Object.fromEntries(t.counts) };
}

/**
 * Best-of-N: N candidates, each scored by a verifier (agreement with the other candidates, and for arithmetic the
 * share of its written calculations that are right); the best one is returned with its score as the confidence.
 */
export async function bestOfN(env: StrategyEnv, n: number): Promise<StrategyResult> {
  const prompt = withSystem(env.base, PROMPTS.cot);
  const texts = (await Promise.all(Array.from({ length: n }, (_, i) => env.ask(sample(prompt, env.seed, i))))).map(textOf);
  const answers = texts.map((t) => extractAnswer(t, env.task));
  const t = tally(answers);
  const scored = texts.map((text, i) => {
    const agreement = answers[i] === undefined ? 0 : (t.counts.get(answers[i]!) ?? 0) / n;
    const arithmetic = env.task === 'math' ? arithmeticScore(text) : undefined;
    return { i, score: arithmetic === undefined ? agreement : (agreement + arithmetic) / 2 };
  });
  const best = scored.reduce((a, b) => (b.score > a.score ? b : a));
  return { text: texts[best.i]!, answer: answers[best.i], confidence: best.score, samples: n, votes: Object.fromEntries(t.counts) };
}

/** Reflect-and-revise: an answer, then the model checks and corrects it; agreeing with itself counts as confidence. */
export async function reflectAndRevise(env: StrategyEnv): Promise<StrategyResult> {
  const first = withSystem(env.base, PROMPTS.cot);
  const draft = textOf(await env.ask(first));
  const revised = textOf(await env.ask({
    ...first,
    input: { type: 'messages', messages: [...first.input.messages, { role: 'assistant', content: draft }, { role: 'user', content: PROMPTS.revise }] },
  }));
  const [a, b] = [extractAnswer(draft, env.task), extractAnswer(revised, env.task)];
  return { text: revised, answer: b, confidence: b === undefined ? 0 : a === b ? 1 : 0.5, samples: 2 };
}

/** What the rag strategy retrieves with. */
export interface Retriever {
  search(query: string, k: number): Promise<{ source: string; text: string; score: number }[]>;
}

/** Retrieval-augmented: the passages that best match the question go in front of it, numbered for citation. */
export async function retrievalAugmented(env: StrategyEnv, retriever: Retriever, k: number): Promise<StrategyResult & { sources: string[] }> {
  const question = [...env.base.input.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const hits = await retriever.search(question, k);
  const context = hits.map((h, i) => `[${i + 1}] (${h.source}) ${h.text}`).join('\n\n');
  const result = await single(env, withSystem(env.base, hits.length ? `${PROMPTS.rag}\n\n${context}` : PROMPTS.rag));
  return { ...result, sources: hits.map((h) => h.source) };
}
