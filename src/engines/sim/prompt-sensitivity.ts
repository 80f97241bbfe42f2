// The simulator's prompt-sensitive solver: how right its answers are depends on what it can observe in the prompt,
// so a prompt optimizer has something real to find. The effects are additive on the log-odds of the base accuracy p
// (a bare question asked directly):
//   - asked to reason step by step ("step by step" in a system message): +0.5; asked to devise a plan: +0.35;
//   - correct demonstrations (a user turn that is a dataset question, then an assistant turn ending in its gold
//     answer): +0.8 x (1 - e^(-correct/2)), diminishing; each wrong one -0.4; past 8 in all, -0.12 for each extra;
//   - the dataset's hidden key words (three words of INSTRUCTION_WORDS, drawn from the dataset's name by hash and
//     never shown): +0.5 for each one the system messages contain.
// It also answers an instruction-proposal meta-prompt (META_MARKER) with a new instruction: the words of the best
// instructions it is shown, recombined, with words of INSTRUCTION_WORDS added, as a language model rewriting them
// would do. None of this is visible to an optimizer except through the scores its prompts earn.
import { fnv1aString, type ChatMessage } from '../../core/index.js';
import { normalizeAnswer, type DatasetItem } from '../../datasets/index.js';

/** The words instructions are made of here; the hidden key words of each dataset are three of them. */
export const INSTRUCTION_WORDS = [
  'carefully',
  'precisely',
  'units',
  'verify',
  'quantities',
  'concise',
  'calm',
  'expert',
  'tutor',
  'friendly',
  'numbers',
  'explain',
  'briefly',
  'totals',
  'exactly',
  'teacher',
  'thorough',
  'simple',
  'clear',
  'reread',
  'patient',
  'rigorous',
  'arithmetic',
  'intermediate',
] as const;

/** A meta-prompt asking for a new instruction contains this line. */
export const META_MARKER = 'Propose one new instruction that would score higher than all of these.';

const STEP_BONUS = 0.5;
const PLAN_BONUS = 0.35;
const DEMO_GAIN = 0.8;
const DEMO_SCALE = 2;
const WRONG_DEMO = 0.4;
const DEMO_LIMIT = 8;
const EXCESS_DEMO = 0.12;
const KEY_WORD_BONUS = 0.5;
const KEY_WORDS = 3;
/** Words of INSTRUCTION_WORDS a proposal adds to the best instruction's. */
const NEW_WORDS = 3;

/** What the solver observes in a prompt. */
export interface PromptFeatures {
  stepByStep: boolean;
  plan: boolean;
  correctDemos: number;
  wrongDemos: number;
  keyWords: number;
}

/** The dataset's hidden key words: a function of its name only. */
export function hiddenKeyWords(dataset: string): string[] {
  const words: string[] = [];
  for (let i = 0; words.length < KEY_WORDS; i++) {
    const w = INSTRUCTION_WORDS[fnv1aString(`${dataset}#${i}`) % INSTRUCTION_WORDS.length]!;
    if (!words.includes(w)) words.push(w);
  }
  return words;
}

const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const clamp = (p: number) => Math.min(0.99, Math.max(0.01, p));

/** The final answer a demonstration ends with: after "the answer is" or "####", else its last number. */
function demoAnswer(text: string): string | undefined {
  const final = /(?:the (?:final )?answer is|####)\s*:?\s*(.+?)\s*(?:\.\s*$|\n|$)/i.exec(text)?.[1] ?? text;
  const numbers = final.match(/[-+]?\$?\d[\d,]*(?:\.\d+)?/g);
  const found = numbers?.length ? numbers[numbers.length - 1]! : /\([A-R]\)|\b(true|false|yes|no|valid|invalid)\b/i.exec(final)?.[0];
  return found === undefined ? undefined : normalizeAnswer(found);
}

export function featuresOf(messages: readonly ChatMessage[], known: (question: string) => DatasetItem | undefined, dataset: string): PromptFeatures {
  const system = messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join(' ');
  let correctDemos = 0;
  let wrongDemos = 0;
  // A demonstration is a user turn followed by an assistant turn; the last user turn is the question itself.
  for (let i = 0; i + 1 < messages.length; i++) {
    const [q, a] = [messages[i]!, messages[i + 1]!];
    if (q.role !== 'user' || a.role !== 'assistant') continue;
    const item = known(q.content.trim());
    if (item && demoAnswer(a.content) === item.answer) correctDemos++;
    else wrongDemos++;
  }
  const words = new Set(system.toLowerCase().match(/[a-z-]+/g) ?? []);
  return {
    stepByStep: /step by step/i.test(system),
    plan: /devise a plan/i.test(system),
    correctDemos,
    wrongDemos,
    keyWords: hiddenKeyWords(dataset).filter((w) => words.has(w)).length,
  };
}

/** The chance of a right answer for a prompt with these features, from the base accuracy p. */
export function sensitiveP(p: number, f: PromptFeatures): number {
  const demos = f.correctDemos + f.wrongDemos;
  const x =
    logit(clamp(p)) +
    (f.stepByStep ? STEP_BONUS : f.plan ? PLAN_BONUS : 0) +
    DEMO_GAIN * (1 - Math.exp(-f.correctDemos / DEMO_SCALE)) -
    WRONG_DEMO * f.wrongDemos -
    EXCESS_DEMO * Math.max(0, demos - DEMO_LIMIT) +
    KEY_WORD_BONUS * f.keyWords;
  return clamp(sigmoid(x));
}

/**
 * The best chance of a right answer any single-sample prompt can reach: step by step, every key word, and the
 * number of correct demonstrations (at most `maxDemos`) that helps most.
 */
export function bestSingleP(p: number, maxDemos = 64): number {
  let best = 0;
  for (let correct = 0; correct <= maxDemos; correct++)
    best = Math.max(best, sensitiveP(p, { stepByStep: true, plan: false, correctDemos: correct, wrongDemos: 0, keyWords: KEY_WORDS }));
  return best;
}

/**
 * An answer to the meta-prompt: the instructions it lists (best first, as `Instruction: ...` lines followed by their
 * scores) recombined. The best one's words are kept, a word of the runner-up may join, and up to NEW_WORDS words of
 * INSTRUCTION_WORDS are added; draws of the seed decide which.
 */
export function proposeInstruction(prompt: string, draw: (i: number) => number): string {
  const listed = [...prompt.matchAll(/^Instruction: (.*)\nScore: ([\d.]+)/gm)].map((m, at) => ({ text: m[1]!.trim(), score: Number(m[2]), at }));
  // Among equal scores the one listed last is taken as the best, as a reader of a list sorted worst first would.
  listed.sort((a, b) => b.score - a.score || b.at - a.at);
  const words = (listed[0]?.text ?? 'Solve the problem.').replace(/[.]$/, '').split(/\s+/).filter(Boolean);
  const second = listed[1]?.text.replace(/[.]$/, '').split(/\s+/) ?? [];
  const out = [...words];
  if (second.length && draw(0) % 2 === 0) {
    const w = second[draw(1) % second.length]!;
    if (!out.includes(w)) out.push(w);
  }
  // Now and then a word the best ones have that did not help is dropped, so instructions do not only grow.
  if (out.length > 6 && draw(2) % 3 === 0) out.splice(1 + (draw(3) % (out.length - 1)), 1);
  for (let i = 0; i < NEW_WORDS; i++) {
    const add = INSTRUCTION_WORDS[draw(4 + i) % INSTRUCTION_WORDS.length]!;
    if (!out.includes(add)) out.push(add);
  }
  return `Instruction: ${out.join(' ')}.`;
}
