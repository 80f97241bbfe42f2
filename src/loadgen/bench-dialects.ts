// The wire dialects the load generator speaks: how each asks for a streamed answer (path, auth header, body) and how
// its stream's events tell output text, token counts, the end and an error. A server is measured in its own dialect.
import type { BenchPrompt } from './workload.js';

export const BENCH_APIS = ['chat', 'responses', 'messages'] as const;
export type BenchApi = (typeof BENCH_APIS)[number];

/** What one stream event said. */
export interface StreamEvent {
  /** The SSE `event:` name, when the dialect sends one. */
  event?: string;
  data: string;
}

/** What a stream has told so far; a dialect's `read` fills it in, event by event. */
export interface StreamReading {
  /** Set by the event just read when it carried output text (a token, for timing). */
  text: boolean;
  outputTokens?: number;
  promptTokens?: number;
  /** The stream ended as its dialect ends a whole answer. */
  done: boolean;
  error?: string;
}

export interface BenchDialect {
  /** The path below the base URL (which ends in /v1). */
  path: string;
  /** The auth header for a key. */
  auth(apiKey: string): Record<string, string>;
  /** Extra headers every request carries. */
  headers: Record<string, string>;
  body(model: string, prompt: BenchPrompt, extra: Record<string, unknown>): Record<string, unknown>;
  read(event: StreamEvent, into: StreamReading): void;
}

const bearer = (apiKey: string) => ({ authorization: `Bearer ${apiKey}` });

/** OpenAI's chat completions: data-only events, usage in the last chunk (include_usage), then [DONE]. */
const chat: BenchDialect = {
  path: '/chat/completions',
  auth: bearer,
  headers: {},
  body: (model, prompt, extra) => ({
    model,
    messages: prompt.messages,
    max_tokens: prompt.maxTokens,
    stream: true,
    stream_options: { include_usage: true },
    ...extra,
  }),
  read({ data }, into) {
    if (data === '[DONE]') {
      into.done = true;
      return;
    }
    const chunk = JSON.parse(data) as {
      choices?: { delta?: { content?: string } }[];
      usage?: { prompt_tokens: number; completion_tokens: number };
      error?: { message: string };
    };
    if (chunk.error) into.error = chunk.error.message;
    if (chunk.usage) {
      into.outputTokens = chunk.usage.completion_tokens;
      into.promptTokens = chunk.usage.prompt_tokens;
    }
    into.text = Boolean(chunk.choices?.[0]?.delta?.content);
  },
};

interface ResponsesEvent {
  type?: string;
  delta?: string;
  message?: string;
  response?: { usage?: { input_tokens: number; output_tokens: number } | null; error?: { message: string } | null };
}

/**
 * OpenAI's Responses: typed events, text in response.output_text.delta, usage in the final response.completed (or
 * incomplete). `store: false`: a benchmark leaves no stored responses behind on the server it measures.
 */
const responses: BenchDialect = {
  path: '/responses',
  auth: bearer,
  headers: {},
  body: (model, prompt, extra) => ({
    model,
    input: prompt.messages.map((m) => ({ role: m.role, content: m.content })),
    max_output_tokens: prompt.maxTokens,
    stream: true,
    store: false,
    ...extra,
  }),
  read({ data }, into) {
    const e = JSON.parse(data) as ResponsesEvent;
    into.text = e.type === 'response.output_text.delta' && Boolean(e.delta);
    switch (e.type) {
      case 'response.completed':
      case 'response.incomplete': {
        const usage = e.response?.usage;
        if (usage) {
          into.outputTokens = usage.output_tokens;
          into.promptTokens = usage.input_tokens;
        }
        into.done = true;
        break;
      }
      case 'response.failed':
        into.error = e.response?.error?.message ?? 'the response failed';
        break;
      case 'error':
        into.error = e.message ?? 'the stream failed';
        break;
    }
  },
};

interface MessagesUsage {
  input_tokens?: number;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  output_tokens?: number;
}

interface MessagesEvent {
  type?: string;
  delta?: { type?: string; text?: string };
  usage?: MessagesUsage;
  message?: { usage?: MessagesUsage };
  error?: { message?: string };
}

/** Anthropic counts prompt tokens read from or written to its cache apart from input_tokens: the prompt is all three. */
const promptOf = (u: MessagesUsage | undefined) =>
  u?.input_tokens === undefined ? undefined : u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);

/**
 * Anthropic's Messages: the system prompt is a top-level field, text in content_block_delta (text_delta), input tokens
 * in message_start (or message_delta), output tokens in message_delta, the end at message_stop; the key goes in x-api-key.
 */
const messages: BenchDialect = {
  path: '/messages',
  auth: (apiKey) => ({ 'x-api-key': apiKey }),
  headers: { 'anthropic-version': '2023-06-01' },
  body(model, prompt, extra) {
    const system = prompt.messages.filter((m) => m.role === 'system').map((m) => m.content);
    return {
      model,
      max_tokens: prompt.maxTokens,
      ...(system.length && { system: system.join('\n') }),
      messages: prompt.messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role, content: m.content })),
      stream: true,
      ...extra,
    };
  },
  read({ data }, into) {
    const e = JSON.parse(data) as MessagesEvent;
    into.text = e.type === 'content_block_delta' && e.delta?.type === 'text_delta' && Boolean(e.delta.text);
    switch (e.type) {
      case 'message_start':
        into.promptTokens = promptOf(e.message?.usage) ?? into.promptTokens;
        break;
      case 'message_delta':
        // The final usage: servers that learn the prompt's size only at the end (ours) send it here, as Anthropic does.
        if (e.usage?.output_tokens !== undefined) into.outputTokens = e.usage.output_tokens;
        if (promptOf(e.usage)) into.promptTokens = promptOf(e.usage);
        break;
      case 'message_stop':
        into.done = true;
        break;
      case 'error':
        into.error = e.error?.message ?? 'the stream failed';
        break;
    }
  },
};

export const benchDialects: Record<BenchApi, BenchDialect> = { chat, responses, messages };

/** How each dialect's stream says it ended, for a run's error when it never did. */
export const endOfStream: Record<BenchApi, string> = { chat: '[DONE]', responses: 'response.completed', messages: 'message_stop' };
