// The task parser: what kind of request this is, from cheap local features and rules (no model call).

export const TASK_TYPES = ['math', 'logic', 'code', 'classification', 'summarization', 'open_qa', 'chat'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

const CODE =
  /```|\bdef \w+\(|\bfunction \w*\s*\(|=>\s*\{|\bimport \w+ from\b|#include\b|\bconsole\.log\b|\b(write|implement|fix|debug|refactor|complete|optimi[sz]e) (a |an |the |this |my )?(\w+ )?(function|program|script|method|code|query|regex|class in)\b|\b(python|javascript|typescript|rust|golang|java|c\+\+|sql|bash) (function|code|script|program|snippet|query)\b|\bstack trace\b|\bcompil(e|er) error\b/i;
const SUMMARY = /\b(summari[sz]e|summary|tl;?dr|condense|key points|in (one|a few) sentences?)\b/i;
const CLASSIFY = /\b(classify|categori[sz]e|which (category|class|label|intent)|label (this|the)|extract (the|all|every)|sentiment|intent)\b/i;
/** Multiple choice, truth tables, causation, instructions to follow: logic even when numbers appear. */
const STRONG_LOGIC =
  /\boptions:\s*\(a\)|\(a\)[^)]*\(b\)|\b(not|and|or)\b.*\b(true|false)\b[\s)]*is\s*$|\b(true|false)\b\s+(and|or)\b|\bstarting point\b|\bcausation\b|\bsarcastic\b|\bplausible\b|\bsort the following words\b|\bdeduc/is;
const LOGIC = /\bvalid\b|\bif .* then\b|\bwhich of the following\b|\b(mm\/dd\/yyyy|yesterday|tomorrow)\b|\bcaused?\b.*\?/is;
const WORDS_OF_QUANTITY =
  /\b(how (many|much|far|long|old)|total|sum|difference|product|average|percent(age)?|per|each|times|twice|half|remain(s|ing|der)?|left|more than|less than|cost|price|pay|earn|dollars?|\$|minutes?|hours?|km|miles?|kg|pounds?|cm|meters?|feet|foot|inch(es)?|%)\b/i;
const QUESTION = /^\s*(what|who|whom|whose|when|where|why|which|how|is|are|was|were|do|does|did|can|could|should|would|will)\b|\?\s*$/i;

/** Numbers in the text, not counting ones inside words. */
const numberCount = (text: string) => (text.match(/(?<![\w.])[-+]?\d[\d,]*(\.\d+)?(?![\w])/g) ?? []).length;

export function classifyTask(text: string): TaskType {
  const t = text.trim();
  if (STRONG_LOGIC.test(t) && !/```/.test(t)) return 'logic';
  if (CODE.test(t) && !/^\s*(what|who|when|where|why)\b[^`]*\?$/i.test(t)) return 'code';
  if (SUMMARY.test(t)) return 'summarization';
  if (CLASSIFY.test(t)) return 'classification';
  const numbers = numberCount(t);
  const arithmetic = /\d\s*[-+*/×÷]\s*\(?-?\d/.test(t) && /=\s*$|\bis\s*$|\?\s*$/.test(t);
  if (LOGIC.test(t) && !(numbers >= 2 && WORDS_OF_QUANTITY.test(t))) return 'logic';
  if (arithmetic || (numbers >= 1 && WORDS_OF_QUANTITY.test(t)) || (numbers >= 2 && /\?\s*$/.test(t)) || /\bhow many\b/i.test(t)) return 'math';
  if (QUESTION.test(t) || /^\s*(explain|describe|tell me about|define)\b/i.test(t)) return 'open_qa';
  return 'chat';
}
