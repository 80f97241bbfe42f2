// ChatChunk -> OpenAI JSON: chat.completion(.chunk) and text_completion objects, streamed or whole.
import { randomBytes } from 'node:crypto';
import type { ChatChunk, ChatCompletion, FinishReason, Usage } from '../core/index.js';

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export const newId = (prefix: string): string => `${prefix}-${randomBytes(12).toString('base64url')}`;

export function usageToWire(u: Usage): OpenAIUsage {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedPromptTokens },
  };
}

/** OpenAI knows only stop and length; an aborted or failed choice never reaches a client as a finish. */
export const finishReasonToWire = (r: FinishReason): 'stop' | 'length' => (r === 'length' ? 'length' : 'stop');

export interface StreamEncoder {
  /** The wire objects for one chunk (zero, one or two: a chat choice opens with its role). */
  encode(chunk: ChatChunk): object[];
}

interface EncoderOptions {
  model: string;
  includeUsage: boolean;
}

export function chatStreamEncoder({ model, includeUsage }: EncoderOptions): StreamEncoder {
  const id = newId('chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const opened = new Set<number>();
  const frame = (choices: object[], usage?: OpenAIUsage) => ({
    id, object: 'chat.completion.chunk', created, model, system_fingerprint: null, choices,
    ...(includeUsage ? { usage: usage ?? null } : {}),
  });
  const delta = (index: number, d: object, finish: string | null = null) => ({ index, delta: d, logprobs: null, finish_reason: finish });
  const open = (index: number): object[] => {
    if (opened.has(index)) return [];
    opened.add(index);
    return [frame([delta(index, { role: 'assistant', content: '' })])];
  };
  return {
    encode(chunk) {
      switch (chunk.type) {
        case 'text-delta':
          return [...open(chunk.index), frame([delta(chunk.index, { content: chunk.text })])];
        case 'finish':
          return [...open(chunk.index), frame([delta(chunk.index, {}, finishReasonToWire(chunk.reason))])];
        case 'usage':
          return includeUsage ? [frame([], usageToWire(chunk.usage))] : [];
        case 'error':
          return [chunk.error.toJSON()];
      }
    },
  };
}

export function completionStreamEncoder({ model, includeUsage }: EncoderOptions): StreamEncoder {
  const id = newId('cmpl');
  const created = Math.floor(Date.now() / 1000);
  const frame = (choices: object[], usage?: OpenAIUsage) => ({
    id, object: 'text_completion', created, model, system_fingerprint: null, choices,
    ...(includeUsage ? { usage: usage ?? null } : {}),
  });
  const choice = (index: number, text: string, finish: string | null = null) => ({ index, text, logprobs: null, finish_reason: finish });
  return {
    encode(chunk) {
      switch (chunk.type) {
        case 'text-delta':
          return [frame([choice(chunk.index, chunk.text)])];
        case 'finish':
          return [frame([choice(chunk.index, '', finishReasonToWire(chunk.reason))])];
        case 'usage':
          return includeUsage ? [frame([], usageToWire(chunk.usage))] : [];
        case 'error':
          return [chunk.error.toJSON()];
      }
    },
  };
}

export function chatCompletionToWire(model: string, result: ChatCompletion) {
  return {
    id: newId('chatcmpl'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: null,
    choices: result.choices.map((c) => ({
      index: c.index,
      message: { role: 'assistant', content: c.text, refusal: null },
      logprobs: null,
      finish_reason: finishReasonToWire(c.finishReason),
    })),
    usage: usageToWire(result.usage),
  };
}

export function textCompletionToWire(model: string, result: ChatCompletion, echo?: string) {
  return {
    id: newId('cmpl'),
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: null,
    choices: result.choices.map((c) => ({
      index: c.index,
      text: (echo ?? '') + c.text,
      logprobs: null,
      finish_reason: finishReasonToWire(c.finishReason),
    })),
    usage: usageToWire(result.usage),
  };
}
