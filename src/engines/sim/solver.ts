// The simulator's solver mode: for a question from a known dataset it answers the gold answer with probability p
// (per strategy, recognised by its prompt) and a plausible wrong answer otherwise, so reasoning strategies can be
// measured without a model that can reason. Draws are a pure function of (question, seed): the same sample index
// gives the same answer whichever strategy asks, so strategies are compared on identical draws. In its
// prompt-sensitive mode p depends on the prompt's instructions and demonstrations (see prompt-sensitivity.ts).
import { fnv1aString, type ChatRequest } from '../../core/index.js';
import { loadDataset, type DatasetItem, type DatasetName } from '../../datasets/index.js';
import { META_MARKER, featuresOf, proposeInstruction, sensitiveP } from './prompt-sensitivity.js';

export interface SolverSettings {
  dataset: string;
  p: number;
  /** p for prompts of a given strategy (`cot`, `plan`), when it differs from `p`. */
  strategies?: Record<string, number>;
  datasetsDir?: string;
  /** p is the accuracy of a bare question; instructions, demonstrations and key words move it (prompt-sensitivity.ts). */
  promptSensitive?: boolean;
}

function hashText(text: string, seed: number): number {
  const h = fnv1aString(text);
  // MurmurHash3's finalizer over (question, seed): neighbouring seeds must give unrelated draws, or samples that
  // should be independent would agree (or err) together.
  let x = (h ^ Math.imul(seed, 0x9e3779b1)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A wrong answer of the same kind as the gold one: a near number, another option, the other truth value. */
export function plausibleWrong(item: Pick<DatasetItem, 'answer' | 'kind'>, draw: number): string {
  switch (item.kind) {
    case 'number': {
      const gold = Number(item.answer);
      // About a thousand candidates (slips of 1 to 250 either way, or a doubled or halved result), so two wrong
      // samples seldom agree by chance, as with a real model's scattered arithmetic mistakes.
      const kind = draw % 8;
      const slip = (1 + ((draw >>> 3) % 250)) * ((draw >>> 11) % 2 === 0 ? 1 : -1);
      const value = kind === 0 ? gold * 2 + slip : kind === 1 ? gold / 2 + slip : gold + (Number.isInteger(gold) ? slip : slip / 10);
      return String(Math.round(value * 1e6) / 1e6);
    }
    case 'option': {
      const letter = item.answer.charCodeAt(1) - 65;
      return `(${String.fromCharCode(65 + ((letter + 1 + (draw % 4)) % 5))})`;
    }
    case 'boolean':
      return { true: 'false', false: 'true', yes: 'no', no: 'yes', valid: 'invalid', invalid: 'valid' }[item.answer] ?? 'false';
    default:
      return `not ${item.answer}`;
  }
}

export class SimSolver {
  private readonly byQuestion = new Map<string, DatasetItem>();

  constructor(private readonly settings: SolverSettings) {
    for (const item of loadDataset(settings.dataset as DatasetName, settings.datasetsDir)) this.byQuestion.set(item.question.trim(), item);
  }

  /** The strategy a prompt belongs to, from the reasoning layer's own instructions. */
  private strategyOf(req: ChatRequest): string {
    const system =
      req.input.type === 'messages'
        ? req.input.messages
            .filter((m) => m.role === 'system')
            .map((m) => m.content)
            .join(' ')
        : '';
    if (/devise a plan/i.test(system)) return 'plan';
    if (/step by step/i.test(system)) return 'cot';
    return 'direct';
  }

  /** The text to answer with, or undefined when the request is not about a known item. */
  answer(req: ChatRequest, fallbackSeed: number): string | undefined {
    const seed = req.seed ?? fallbackSeed;
    const messages = req.input.type === 'messages' ? req.input.messages : [];
    if (this.settings.promptSensitive && messages.some((m) => m.content.includes(META_MARKER)))
      return proposeInstruction(messages.map((m) => m.content).join('\n'), (i) => hashText(`meta#${i}`, seed));
    // The question is the latest user turn that is a dataset item: earlier ones are demonstrations, and a later one
    // (a revision request) is about the answer, not a new question.
    const question =
      req.input.type === 'messages' ? [...messages].reverse().find((m) => m.role === 'user' && this.byQuestion.has(m.content.trim()))?.content : req.input.text;
    const item = question === undefined ? undefined : this.byQuestion.get(question.trim());
    if (!item) return undefined;
    const strategy = this.strategyOf(req);
    const p = this.settings.promptSensitive
      ? sensitiveP(
          this.settings.p,
          featuresOf(messages, (q) => (q === item.question.trim() ? undefined : this.byQuestion.get(q)), this.settings.dataset),
        )
      : (this.settings.strategies?.[strategy] ?? this.settings.p);
    const draw = hashText(item.question, seed);
    const correct = draw / 2 ** 32 < p;
    const answer = correct ? item.answer : plausibleWrong(item, hashText(item.question, seed ^ 0x5bd1e995));
    return strategy === 'direct'
      ? `The answer is ${answer}.`
      : `Let me work through it one step at a time, checking each quantity. So the answer is ${answer}.`;
  }
}
