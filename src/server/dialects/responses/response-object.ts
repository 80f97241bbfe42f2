// The Response object of OpenAI's Responses API: the envelope that echoes the request, its output items and usage.
import type { ChatCompletion, FinishReason, Usage } from '../../../core/index.js';
import { newId } from '../../inference-endpoint.js';
import type { FunctionTool, ResponsesBody, TextFormat } from './request-schema.js';

/** What every Response of one request echoes back from it, as OpenAI's Response object lists those fields. */
export interface ResponseEcho {
  instructions: string | null;
  max_output_tokens: number | null;
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  prompt_cache_key: string | null;
  safety_identifier: string | null;
  service_tier: 'auto' | 'default';
  store: boolean;
  temperature: number | null;
  text: { format: TextFormat; verbosity: 'medium' };
  tool_choice: ResponsesBody['tool_choice'] & {};
  tools: (FunctionTool & { description: string | null; parameters: Record<string, unknown> | null; strict: boolean | null })[];
  top_p: number | null;
  user: string | null;
  metadata: Record<string, string>;
}

export function echoOf(body: ResponsesBody): ResponseEcho {
  return {
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    prompt_cache_key: body.prompt_cache_key ?? null,
    safety_identifier: body.safety_identifier ?? null,
    service_tier: body.service_tier ?? 'default',
    store: body.store ?? true,
    temperature: body.temperature ?? null,
    text: { format: body.text?.format ?? { type: 'text' }, verbosity: 'medium' },
    tool_choice: body.tool_choice ?? 'auto',
    tools: (body.tools ?? []).map((t) => ({
      type: 'function',
      name: t.name,
      description: t.description ?? null,
      parameters: t.parameters ?? null,
      strict: t.strict ?? null,
    })),
    top_p: body.top_p ?? null,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  };
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

export interface OutputText {
  type: 'output_text';
  annotations: never[];
  logprobs: never[];
  text: string;
}

export interface MessageItem {
  id: string;
  type: 'message';
  status: 'in_progress' | 'completed' | 'incomplete';
  role: 'assistant';
  content: OutputText[];
}

export interface FunctionCallItem {
  id: string;
  type: 'function_call';
  status: 'in_progress' | 'completed' | 'incomplete';
  arguments: string;
  call_id: string;
  name: string;
}

export type OutputItem = MessageItem | FunctionCallItem;

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export const usageToWire = (u: Usage): ResponseUsage => ({
  input_tokens: u.promptTokens,
  input_tokens_details: { cached_tokens: u.cachedPromptTokens },
  output_tokens: u.completionTokens,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: u.promptTokens + u.completionTokens,
});

/** The fixed facts of one response: its id, when it began, which model answered, what it echoes. */
export interface ResponseHead {
  id: string;
  createdAt: number;
  model: string;
  echo: ResponseEcho;
}

export const responseHead = (model: string, echo: ResponseEcho, answerKey = newId('')): ResponseHead => ({
  id: `resp_${answerKey}`,
  createdAt: Math.floor(Date.now() / 1000),
  model,
  echo,
});

export interface ResponseState {
  status: ResponseStatus;
  output: OutputItem[];
  usage: ResponseUsage | null;
  error?: { code: string; message: string } | null;
}

/** A Response object in OpenAI's field order. `output_text` is the SDK's convenience field, sent so any client has it. */
export function responseObject(head: ResponseHead, state: ResponseState) {
  const { echo } = head;
  const done = state.status !== 'in_progress';
  return {
    id: head.id,
    object: 'response',
    created_at: head.createdAt,
    status: state.status,
    background: false,
    completed_at: state.status === 'completed' ? Math.floor(Date.now() / 1000) : null,
    error: state.error ?? null,
    incomplete_details: state.status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: echo.instructions,
    max_output_tokens: echo.max_output_tokens,
    max_tool_calls: null,
    model: head.model,
    output: state.output,
    parallel_tool_calls: echo.parallel_tool_calls,
    previous_response_id: echo.previous_response_id,
    prompt_cache_key: echo.prompt_cache_key,
    reasoning: { effort: null, summary: null },
    safety_identifier: echo.safety_identifier,
    service_tier: echo.service_tier,
    store: echo.store,
    temperature: echo.temperature,
    text: echo.text,
    tool_choice: echo.tool_choice,
    tools: echo.tools,
    top_logprobs: 0,
    top_p: echo.top_p,
    truncation: 'disabled',
    usage: done ? state.usage : null,
    user: echo.user,
    metadata: echo.metadata,
    output_text: outputText(state.output),
  };
}

export type ResponseObject = ReturnType<typeof responseObject>;

/** All output_text of the message items, as the SDK's `output_text` joins it. */
export function outputText(output: readonly OutputItem[]): string {
  let text = '';
  for (const item of output) if (item.type === 'message') for (const part of item.content) text += part.text;
  return text;
}

/** `incomplete` when the answer was cut at max_output_tokens; other ends are a completed response. */
export const statusOf = (reason: FinishReason): 'completed' | 'incomplete' => (reason === 'length' ? 'incomplete' : 'completed');

export const messageItem = (id: string, status: MessageItem['status'], text: string | undefined): MessageItem => ({
  id,
  type: 'message',
  status,
  role: 'assistant',
  content: text === undefined ? [] : [{ type: 'output_text', annotations: [], logprobs: [], text }],
});

/** A whole answer's output: its text as a message (when it has text or no calls), then each function call. */
export function outputOf(result: ChatCompletion): { status: 'completed' | 'incomplete'; output: OutputItem[] } {
  const choice = result.choices[0];
  if (!choice) return { status: 'completed', output: [messageItem(newId('msg_'), 'completed', '')] };
  const status = statusOf(choice.finishReason);
  const output: OutputItem[] = [];
  if (choice.text || !choice.toolCalls?.length) output.push(messageItem(newId('msg_'), status, choice.text));
  for (const call of choice.toolCalls ?? []) {
    output.push({ id: newId('fc_'), type: 'function_call', status, arguments: call.arguments, call_id: call.id || newId('call_'), name: call.name });
  }
  return { status, output };
}
