// Final answers out of free text: a number, an option letter, a truth value, a code block, or normalized text.
import { normalizeAnswer } from '../datasets/index.js';
import type { TaskType } from './task-parser.js';

const FINAL = /(?:the (?:final )?answer is|answer:|####)\s*:?\s*(.+?)\s*(?:\.\s*$|\n|$)/i;

export function extractAnswer(text: string, task?: TaskType): string | undefined {
  const code = /```[\w+-]*\n([\s\S]*?)```/.exec(text);
  if (task === 'code') return code ? code[1]!.trim() : text.trim() || undefined;
  const final = FINAL.exec(text)?.[1];
  const source = final ?? text;
  const option = /\(([A-R])\)/.exec(source);
  if (option) return `(${option[1]})`;
  const numbers = source.match(/[-+]?\$?\d[\d,]*(?:\.\d+)?/g);
  if ((task === 'math' || !final || numbers?.length === 1) && numbers?.length) return normalizeAnswer(numbers[numbers.length - 1]!);
  const truth = /\b(true|false|yes|no|valid|invalid)\b/i.exec(source);
  if (truth && (final || task === 'logic')) return normalizeAnswer(truth[1]!);
  if (final) return normalizeAnswer(final);
  const trimmed = text.trim();
  return trimmed ? normalizeAnswer(trimmed) : undefined;
}
