// OpenAI request bodies, validated with zod and translated into our ChatRequest; errors name the bad field.
import { z } from 'zod';
import { reasoningOptionsFrom, reasoningOptionsSchema } from '../config/index.js';
import { checkBody, closestIssue, paramOf } from './body-issues.js';
import {
  invalidRequest,
  type ChatMessage,
  type ChatRequest,
  type ContentPart,
  type ResponseFormat,
  type ToolChoice,
  type ToolDefinition,
} from '../core/index.js';

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const imagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.object({
    url: z.string().regex(/^(https?:|data:image\/)/, 'an image URL is http(s): or a data:image/... URL'),
    detail: z.enum(['auto', 'low', 'high']).optional(),
  }),
});
const content = z.union([z.string(), z.array(z.discriminatedUnion('type', [textPart, imagePart])), z.null()]);

const toolCall = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

const message = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: content.optional(),
  name: z.string().optional(),
  tool_calls: z.array(toolCall).nullish(),
  tool_call_id: z.string().nullish(),
});

/** OpenAI's rule for function names, so a bad one is refused here rather than by whichever upstream is chosen. */
const toolName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a function name is 1 to 64 letters, digits, underscores or dashes');

const tool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: toolName,
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

const toolChoice = z.union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: toolName }) })]);

const stop = z.union([z.string(), z.array(z.string()).max(4)]).nullish();

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({ name: z.string().optional(), schema: z.record(z.string(), z.unknown()), strict: z.boolean().nullish() }),
  }),
]);

/** Sampling fields shared by every endpoint; extensions (top_k, min_p) follow llama.cpp server and vLLM. */
const sampling = {
  model: z.string().min(1),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop,
  n: z.number().int().min(1).max(16).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  user: z.string().optional(),
  ignore_eos: z.boolean().nullish(),
  /** Open-AutoGLM's reasoning: which strategy, how many samples, a token budget, a confidence threshold. */
  reasoning: reasoningOptionsSchema.extend({ prompt: z.string().min(1).max(200).optional() }).nullish(),
};

/** Features we refuse clearly instead of silently ignoring, so callers do not get answers they did not ask for. */
const unsupported = {
  functions: z.array(z.unknown()).max(0, "'functions' is deprecated; send 'tools' instead").nullish(),
};

export const chatCompletionBody = z.object({
  ...sampling,
  ...unsupported,
  messages: z.array(message).min(1),
  tools: z.array(tool).max(128).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  response_format: responseFormat.nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
});

export const completionBody = z.object({
  ...sampling,
  ...unsupported,
  tools: z.array(z.unknown()).max(0, 'tools are for /v1/chat/completions').nullish(),
  logprobs: z.union([z.literal(0), z.literal(false)], { error: 'logprobs are served on /v1/chat/completions (logprobs: true, top_logprobs: n)' }).nullish(),
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'send one prompt per request')]),
  echo: z.boolean().nullish(),
  suffix: z.null().optional(),
  max_tokens: z
    .number()
    .int()
    .min(1)
    .nullish()
    .transform((v) => (v === undefined ? 16 : v)),
});

export const inferBody = z.object({
  prompt: z.string(),
  model: z.string().min(1).optional(),
  max_tokens: z.number().int().min(1).optional(),
  temperature: sampling.temperature,
  top_p: sampling.top_p,
  top_k: sampling.top_k,
  min_p: sampling.min_p,
  seed: sampling.seed,
  stop,
  ignore_eos: sampling.ignore_eos,
});

export type ChatCompletionBody = z.infer<typeof chatCompletionBody>;
export type CompletionBody = z.infer<typeof completionBody>;
export type InferBody = z.infer<typeof inferBody>;

export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const checked = checkBody(schema, body);
  if ('data' in checked) return checked.data;
  const issue = closestIssue(checked.issue, true);
  const param = paramOf(issue.path) || null;
  const what = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : `is invalid: ${issue.message}`;
  throw invalidRequest(param ? `'${param}' ${what}` : issue.message, param, issue.code === 'invalid_type' ? 'invalid_type' : 'invalid_value');
}

const stopList = (s: string | string[] | null | undefined): string[] => (s == null ? [] : typeof s === 'string' ? [s] : s).filter(Boolean);
const opt = <T>(v: T | null | undefined): T | undefined => v ?? undefined;

/** The managed prompt a request names rides with its reasoning options. */
const withPrompt = (options: ReturnType<typeof reasoningOptionsFrom>, prompt: string | undefined) => (prompt === undefined ? options : { ...options, prompt });

function samplingOf(body: ChatCompletionBody | CompletionBody | InferBody) {
  return {
    reasoning: 'reasoning' in body ? withPrompt(reasoningOptionsFrom(body.reasoning), body.reasoning?.prompt) : undefined,
    temperature: opt(body.temperature),
    topP: opt(body.top_p),
    topK: opt(body.top_k),
    minP: opt(body.min_p),
    seed: opt(body.seed),
    stop: stopList(body.stop),
    ignoreEos: 'ignore_eos' in body ? opt(body.ignore_eos) : undefined,
  };
}

function messageText(c: z.infer<typeof content> | undefined): string {
  if (c == null) return '';
  return typeof c === 'string' ? c : c.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

/** A message's parts, kept only when it has an image: a text-only message is its text. */
function partsOf(c: z.infer<typeof content> | undefined): ContentPart[] | undefined {
  if (!Array.isArray(c) || !c.some((p) => p.type === 'image_url')) return undefined;
  return c.map(
    (p): ContentPart => (p.type === 'text' ? p : { type: 'image', url: p.image_url.url, ...(p.image_url.detail && { detail: p.image_url.detail }) }),
  );
}

function formatOf(f: ChatCompletionBody['response_format']): ResponseFormat {
  if (!f || f.type === 'text') return { type: 'text' };
  if (f.type === 'json_object') return { type: 'json_object' };
  return { type: 'json_schema', name: f.json_schema.name, schema: f.json_schema.schema };
}

function chatMessage(m: ChatCompletionBody['messages'][number]): ChatMessage {
  const message: ChatMessage = { role: m.role === 'developer' ? 'system' : m.role, content: messageText(m.content) };
  // Only set when present: most requests carry none, and engines pass messages on as they are.
  const parts = partsOf(m.content);
  if (parts) message.parts = parts;
  if (m.name !== undefined) message.name = m.name;
  if (m.tool_calls?.length) message.toolCalls = m.tool_calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments }));
  if (m.tool_call_id != null) message.toolCallId = m.tool_call_id;
  return message;
}

function toolChoiceOf(c: ChatCompletionBody['tool_choice']): ToolChoice | undefined {
  if (c == null) return undefined;
  return typeof c === 'string' ? c : { name: c.function.name };
}

function toolsOf(tools: ChatCompletionBody['tools']): ToolDefinition[] | undefined {
  if (!tools?.length) return undefined;
  return tools.map(({ function: f }) => ({ name: f.name, description: f.description, parameters: f.parameters, strict: opt(f.strict) }));
}

export function chatRequestFromChat(body: ChatCompletionBody): ChatRequest {
  const messages = body.messages.map(chatMessage);
  const tools = toolsOf(body.tools);
  const toolChoice = toolChoiceOf(body.tool_choice);
  if (typeof toolChoice === 'object' && !tools?.some((t) => t.name === toolChoice.name)) {
    throw invalidRequest(`'tool_choice' names the function '${toolChoice.name}', which is not in 'tools'.`, 'tool_choice', 'invalid_value');
  }
  if (toolChoice === 'required' && !tools) throw invalidRequest("'tool_choice' is 'required' but no 'tools' were sent.", 'tool_choice', 'invalid_value');
  if (body.top_logprobs != null && !body.logprobs) throw invalidRequest("'top_logprobs' needs 'logprobs': true.", 'top_logprobs', 'invalid_value');
  return {
    model: body.model,
    input: { type: 'messages', messages },
    maxTokens: opt(body.max_completion_tokens ?? body.max_tokens),
    ...samplingOf(body),
    responseFormat: formatOf(body.response_format),
    stream: Boolean(body.stream),
    user: body.user,
    frequencyPenalty: opt(body.frequency_penalty),
    presencePenalty: opt(body.presence_penalty),
    n: body.n ?? 1,
    ...(tools && { tools, toolChoice, parallelToolCalls: opt(body.parallel_tool_calls) }),
    ...(body.logprobs && { logprobs: { top: body.top_logprobs ?? 0 } }),
  };
}

export function chatRequestFromCompletion(body: CompletionBody): ChatRequest {
  return {
    model: body.model,
    input: { type: 'text', text: typeof body.prompt === 'string' ? body.prompt : body.prompt[0]! },
    maxTokens: opt(body.max_tokens),
    ...samplingOf(body),
    responseFormat: { type: 'text' },
    stream: Boolean(body.stream),
    user: body.user,
    n: body.n ?? 1,
  };
}

export function chatRequestFromInfer(body: InferBody, defaultModel: string): ChatRequest {
  return {
    model: body.model ?? defaultModel,
    input: { type: 'text', text: body.prompt },
    maxTokens: body.max_tokens,
    ...samplingOf(body),
    responseFormat: { type: 'text' },
    stream: false,
    n: 1,
  };
}
