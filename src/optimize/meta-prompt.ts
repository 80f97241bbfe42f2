// The instruction-proposal meta-prompt (OPRO, Yang et al. 2023): the instructions tried so far with their scores,
// worst first, and a request for a better one; and the reading of the model's answer.
// The simulator recognises the proposal line and answers it, as it recognises the strategies' instructions.
import { META_MARKER as META_PROPOSAL_LINE } from '../engines/sim/index.js';

export interface ScoredInstruction {
  instruction: string;
  score: number;
}

/** At most this many of the best instructions are shown. */
const SHOWN = 8;

export function metaPrompt(scored: readonly ScoredInstruction[], dataset: string): string {
  const best = [...scored]
    .sort((a, b) => b.score - a.score)
    .slice(0, SHOWN)
    .reverse();
  const lines = best.filter((s) => s.instruction).map((s) => `Instruction: ${s.instruction}\nScore: ${s.score.toFixed(3)}`);
  return [
    `Each instruction below was given to a model before questions from ${dataset}; its score is the share it then answered right.`,
    '',
    lines.join('\n\n'),
    '',
    META_PROPOSAL_LINE,
    "Write it on one line that starts with 'Instruction:'.",
  ].join('\n');
}

/** The instruction a model's answer proposes, or undefined when it proposes none usable. */
export function parseProposal(text: string): string | undefined {
  const line = /Instruction:\s*(.+)/.exec(text)?.[1] ?? text.split('\n').find((l) => l.trim());
  const instruction = line
    ?.trim()
    .replace(/^\(none\)$/, '')
    .slice(0, 400);
  return instruction ? instruction : undefined;
}
