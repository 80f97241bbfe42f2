// What `autoglm optimize` searches: an instruction (from a pool that grows as the model proposes new ones), how many
// bootstrapped demonstrations go before the question, and the reasoning strategy; each candidate is a prompt template.
import type { PromptDemo, PromptTemplate } from '../prompts/index.js';

export const STRATEGY_CHOICES = ['direct', 'cot', 'plan', 'sc@3'] as const;
export const DEMO_CHOICES = [0, 2, 4, 8] as const;

/** The answer format every candidate asks for, so answers can be read the same way whatever the instruction. */
export const ANSWER_FORMAT = "End with a line of the form 'The answer is X.'";

/** The instructions a search starts from; the model's proposals join them. */
export const SEED_INSTRUCTIONS = [
  '',
  'Solve the problem.',
  'Solve the math word problem and give the final number.',
  'You are a helpful assistant. Answer the question.',
] as const;

export interface Candidate {
  instruction: string;
  demos: number;
  strategy: string;
}

export const candidateKey = (c: Candidate) => JSON.stringify([c.instruction, c.demos, c.strategy]);

/** Calls one item costs a candidate: sc@K draws K samples, the others one. */
export const callsPerItem = (c: Pick<Candidate, 'strategy'>) => Number(/@(\d+)$/.exec(c.strategy)?.[1] ?? 1);

export function candidateTemplate(c: Candidate, demos: readonly PromptDemo[], name = 'candidate', version = 1): PromptTemplate {
  return { name, version, instructions: c.instruction, demos: demos.slice(0, c.demos), format: ANSWER_FORMAT, strategy: c.strategy };
}

/** The prompt an optimized one is measured against: no instruction, no demonstrations, answered directly. */
export const BASELINE: Candidate = { instruction: '', demos: 0, strategy: 'direct' };
