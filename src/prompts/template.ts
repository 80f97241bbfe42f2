// A managed prompt's version as a template, `name@version` references to it, and its rendering into a request.
import { invalidRequest, type ChatMessage, type ChatRequest, type ReasoningOptions } from '../core/index.js';
import { PROMPT_NAME, type PromptVersionConfig } from '../config/index.js';
import { parseStrategySpec } from '../reasoning/index.js';

export interface PromptDemo {
  input: string;
  answer: string;
}

/** One version of a named prompt: what is sent around the caller's messages. */
export interface PromptTemplate {
  name: string;
  version: number;
  instructions: string;
  demos: PromptDemo[];
  format?: string;
  strategy?: string;
}

export interface PromptRef {
  name: string;
  /** Undefined: the version the split, the bandit or the latest gives. */
  version?: number;
}

/** `gsm8k-solver` or `gsm8k-solver@3`; anything else is a 400 naming `param`. */
export function parsePromptRef(text: string, param = 'reasoning.prompt'): PromptRef {
  const at = text.lastIndexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  const version = at < 0 ? undefined : text.slice(at + 1);
  if (!PROMPT_NAME.test(name) || (version !== undefined && !/^[1-9]\d{0,8}$/.test(version)))
    throw invalidRequest(`'${text}' is not a prompt reference; use NAME or NAME@VERSION, e.g. gsm8k-solver@3`, param, 'invalid_prompt');
  return version === undefined ? { name } : { name, version: Number(version) };
}

export const promptLabel = (t: Pick<PromptTemplate, 'name' | 'version'>) => `${t.name}@${t.version}`;

export function templateOf(name: string, version: number, v: PromptVersionConfig): PromptTemplate {
  return { name, version, instructions: v.instructions, demos: v.demos, ...(v.format && { format: v.format }), ...(v.strategy && { strategy: v.strategy }) };
}

/** The system text of a template: its instructions, then its answer format. */
export const systemText = (t: Pick<PromptTemplate, 'instructions' | 'format'>) => [t.instructions, t.format].filter((s) => s?.trim()).join('\n');

/** The demonstrations as the turns of a conversation that went before the caller's. */
export const demoMessages = (demos: readonly PromptDemo[]): ChatMessage[] =>
  demos.flatMap((d) => [
    { role: 'user' as const, content: d.input },
    { role: 'assistant' as const, content: d.answer },
  ]);

/**
 * The request with the template around it: the template's system text first (a caller's own system messages follow
 * it), its demonstrations as earlier turns, and its strategy when the caller asked for none. Raw text (the completions
 * endpoint) gets the same pieces as plain text in front of it.
 */
export function renderPrompt(t: PromptTemplate, req: ChatRequest): ChatRequest {
  const system = systemText(t);
  let input: ChatRequest['input'];
  if (req.input.type === 'messages') {
    const own = req.input.messages;
    const lead = own.filter((m, i) => m.role === 'system' && own.slice(0, i).every((p) => p.role === 'system'));
    input = {
      type: 'messages',
      messages: [...(system ? [{ role: 'system' as const, content: system }] : []), ...lead, ...demoMessages(t.demos), ...own.slice(lead.length)],
    };
  } else {
    const demos = t.demos.map((d) => `Q: ${d.input}\nA: ${d.answer}`).join('\n\n');
    input = { type: 'text', text: [system, demos, req.input.text].filter(Boolean).join('\n\n') };
  }
  // What the caller said wins over the template; what it left unset (undefined) says nothing.
  const asked: ReasoningOptions = Object.fromEntries(Object.entries(req.reasoning ?? {}).filter(([k, v]) => k !== 'prompt' && v !== undefined));
  let reasoning: ReasoningOptions | undefined = Object.keys(asked).length ? asked : undefined;
  // The template's strategy is served as it was measured when tuned: without escalation, unless the caller sets a
  // confidence threshold. A `strategy:` model prefix is the caller asking for one.
  if (t.strategy && !asked.strategy && !req.model.includes(':')) reasoning = { ...parseStrategySpec(t.strategy).options, confidence: 0, ...asked };
  return { ...req, input, reasoning };
}
