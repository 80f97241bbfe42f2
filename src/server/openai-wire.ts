// ChatChunk -> OpenAI JSON: chat.completion(.chunk) and text_completion objects, streamed or whole.
import type { ChatChunk, ChatCompletion, FinishReason, TokenLogprob, ToolCall, Usage } from '../core/index.js';
import { newId, type StreamEncoder } from './inference-endpoint.js';

export { newId, type StreamEncoder };

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function usageToWire(u: Usage): OpenAIUsage {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedPromptTokens },
  };
}

/** OpenAI knows stop, length and tool_calls; an aborted or failed choice never reaches a client as a finish. */
export const finishReasonToWire = (r: FinishReason): 'stop' | 'length' | 'tool_calls' => (r === 'length' || r === 'tool_calls' ? r : 'stop');

/** OpenAI's `logprobs` of a choice or a streamed delta. */
const logprobsToWire = (tokens: TokenLogprob[]) => ({
  content: tokens.map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes, top_logprobs: t.top })),
  refusal: null,
});

const toolCallToWire = (c: ToolCall) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } });

/** A streamed piece of a tool call: the first piece of a call carries its id, type and name, later ones only arguments. */
function toolCallDeltaJson(chunk: Extract<ChatChunk, { type: 'tool-call-delta' }>): string {
  const head = chunk.id === undefined ? '' : `"id":${JSON.stringify(chunk.id)},"type":"function",`;
  const name = chunk.name === undefined ? '' : `"name":${JSON.stringify(chunk.name)},`;
  return `{"tool_calls":[{"index":${chunk.call},${head}"function":{${name}"arguments":${JSON.stringify(chunk.arguments)}}}]}`;
}

interface EncoderOptions {
  model: string;
  includeUsage: boolean;
  /** What the id is made of (the call context's answerKey); a fresh one without. */
  answerKey?: string;
}

/**
 * Serializes the frame around `choices` once per stream: only the choice changes from token to token, and
 * re-stringifying the whole envelope per token was measurable on the token path.
 */
function frameTemplate(object: string, prefix: string, { model, includeUsage, answerKey = newId('') }: EncoderOptions) {
  const head = JSON.stringify({ id: `${prefix}-${answerKey}`, object, created: Math.floor(Date.now() / 1000), model, system_fingerprint: null }).slice(0, -1);
  const tail = includeUsage ? ',"usage":null}' : '}';
  return {
    choice: (choiceJson: string) => `${head},"choices":[${choiceJson}]${tail}`,
    usage: (u: Usage) => `${head},"choices":[],"usage":${JSON.stringify(usageToWire(u))}}`,
  };
}

const finishJson = (r: FinishReason) => `"${finishReasonToWire(r)}"`;

export function chatStreamEncoder(options: EncoderOptions): StreamEncoder {
  const frame = frameTemplate('chat.completion.chunk', 'chatcmpl', options);
  const opened = new Set<number>();
  const delta = (index: number, d: string, finish = 'null', logprobs = 'null') =>
    frame.choice(`{"index":${index},"delta":${d},"logprobs":${logprobs},"finish_reason":${finish}}`);
  /** A choice opens with its role; its content starts null when its first output is a tool call, as OpenAI's does. */
  const open = (index: number, content = '""'): string[] => {
    if (opened.has(index)) return [];
    opened.add(index);
    return [delta(index, `{"role":"assistant","content":${content}}`)];
  };
  return {
    encode(chunk) {
      switch (chunk.type) {
        case 'text-delta':
          return [
            ...open(chunk.index),
            delta(chunk.index, `{"content":${JSON.stringify(chunk.text)}}`, 'null', chunk.logprobs ? JSON.stringify(logprobsToWire(chunk.logprobs)) : 'null'),
          ];
        case 'tool-call-delta':
          return [...open(chunk.index, 'null'), delta(chunk.index, toolCallDeltaJson(chunk))];
        case 'finish':
          return [...open(chunk.index), delta(chunk.index, '{}', finishJson(chunk.reason))];
        case 'usage':
          return options.includeUsage ? [frame.usage(chunk.usage)] : [];
        case 'error':
          return [JSON.stringify(chunk.error.toJSON())];
      }
    },
  };
}

export function completionStreamEncoder(options: EncoderOptions): StreamEncoder {
  const frame = frameTemplate('text_completion', 'cmpl', options);
  const choice = (index: number, text: string, finish = 'null') =>
    frame.choice(`{"index":${index},"text":${JSON.stringify(text)},"logprobs":null,"finish_reason":${finish}}`);
  return {
    encode(chunk) {
      switch (chunk.type) {
        case 'text-delta':
          return [choice(chunk.index, chunk.text)];
        case 'tool-call-delta':
          // Text completions offer no tools, so no engine sends calls here.
          return [];
        case 'finish':
          return [choice(chunk.index, '', finishJson(chunk.reason))];
        case 'usage':
          return options.includeUsage ? [frame.usage(chunk.usage)] : [];
        case 'error':
          return [JSON.stringify(chunk.error.toJSON())];
      }
    },
  };
}

export function chatCompletionToWire(model: string, result: ChatCompletion, answerKey = newId('')) {
  return {
    id: `chatcmpl-${answerKey}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: null,
    choices: result.choices.map((c) => ({
      index: c.index,
      // As OpenAI answers: content is null when the turn is only tool calls.
      message: c.toolCalls
        ? { role: 'assistant', content: c.text || null, refusal: null, tool_calls: c.toolCalls.map(toolCallToWire) }
        : { role: 'assistant', content: c.text, refusal: null },
      logprobs: c.logprobs ? logprobsToWire(c.logprobs) : null,
      finish_reason: finishReasonToWire(c.finishReason),
    })),
    usage: usageToWire(result.usage),
  };
}

export function textCompletionToWire(model: string, result: ChatCompletion, echo?: string, answerKey = newId('')) {
  return {
    id: `cmpl-${answerKey}`,
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
