// Responses input items -> our ChatRequest: messages, function calls (an assistant turn's tool calls) and their
// outputs (tool results), after the stored turns a previous_response_id continues.
import { invalidRequest, type ChatMessage, type ChatRequest, type ContentPart, type ResponseFormat, type ToolChoice } from '../../../core/index.js';
import type { InputItem, ResponsesBody } from './request-schema.js';

type MessageInput = Extract<InputItem, { type: 'message' }>;

/** The request's own input as items: a bare string is one user message. */
export const inputItemsOf = (input: ResponsesBody['input']): InputItem[] =>
  input === undefined ? [] : typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : input;

function messageOf(item: MessageInput): ChatMessage {
  const role = item.role === 'developer' ? 'system' : item.role;
  if (typeof item.content === 'string') return { role, content: item.content };
  let text = '';
  let images = false;
  const parts: ContentPart[] = [];
  for (const part of item.content) {
    if (part.type === 'input_image') {
      images = true;
      const detail = part.detail === 'original' ? 'high' : (part.detail ?? undefined);
      parts.push({ type: 'image', url: part.image_url, ...(detail && { detail }) });
      continue;
    }
    const piece = part.type === 'refusal' ? part.refusal : part.text;
    text += piece;
    parts.push({ type: 'text', text: piece });
  }
  // Parts are kept only when there is an image: engines pass a text-only message on as its text.
  return images ? { role, content: text, parts } : { role, content: text };
}

/**
 * The conversation as chat messages. `earlier` are the stored turns (already checked); `input` is this request's,
 * whose item indices name the `param` of a refusal.
 */
export function messagesOf(instructions: string | null | undefined, earlier: readonly InputItem[], input: readonly InputItem[]): ChatMessage[] {
  const messages: ChatMessage[] = instructions ? [{ role: 'system', content: instructions }] : [];
  const calls = new Set<string>();
  const add = (item: InputItem, index: number | undefined) => {
    switch (item.type) {
      case 'message':
        messages.push(messageOf(item));
        return;
      case 'function_call': {
        calls.add(item.call_id);
        // Calls right after an assistant turn belong to it, as chat completions' tool_calls do.
        const last = messages.at(-1);
        const turn = last?.role === 'assistant' ? last : undefined;
        const call = { id: item.call_id, name: item.name, arguments: item.arguments };
        if (turn) (turn.toolCalls ??= []).push(call);
        else messages.push({ role: 'assistant', content: '', toolCalls: [call] });
        return;
      }
      case 'function_call_output': {
        if (!calls.has(item.call_id) && index !== undefined) {
          throw invalidRequest(
            `No function_call with call_id '${item.call_id}' comes before this function_call_output; send the call (or a previous_response_id that made it) first.`,
            `input[${index}].call_id`,
            'invalid_value',
          );
        }
        const output = typeof item.output === 'string' ? item.output : item.output.map((p) => p.text).join('');
        messages.push({ role: 'tool', content: output, toolCallId: item.call_id });
        return;
      }
    }
  };
  for (const item of earlier) add(item, undefined);
  for (const [index, item] of input.entries()) add(item, index);
  return messages;
}

function formatOf(format: NonNullable<ResponsesBody['text']>['format']): ResponseFormat {
  if (!format || format.type === 'text') return { type: 'text' };
  if (format.type === 'json_object') return { type: 'json_object' };
  return { type: 'json_schema', name: format.name, schema: format.schema };
}

function toolChoiceOf(choice: ResponsesBody['tool_choice']): ToolChoice | undefined {
  if (choice == null) return undefined;
  return typeof choice === 'string' ? choice : { name: choice.name };
}

/** The ChatRequest for a body and its whole conversation; refuses what cannot be answered as asked. */
export function chatRequestOf(body: ResponsesBody, messages: ChatMessage[]): ChatRequest {
  if (!messages.some((m) => m.role !== 'system')) {
    throw invalidRequest("'input' is required: send the user's text, or items to answer.", 'input', 'invalid_value');
  }
  const tools = body.tools?.length
    ? body.tools.map((t) => ({
        name: t.name,
        ...(t.description != null && { description: t.description }),
        ...(t.parameters != null && { parameters: t.parameters }),
        ...(t.strict != null && { strict: t.strict }),
      }))
    : undefined;
  const toolChoice = toolChoiceOf(body.tool_choice);
  if (typeof toolChoice === 'object' && !tools?.some((t) => t.name === toolChoice.name)) {
    throw invalidRequest(`'tool_choice' names the function '${toolChoice.name}', which is not in 'tools'.`, 'tool_choice', 'invalid_value');
  }
  if (toolChoice === 'required' && !tools) throw invalidRequest("'tool_choice' is 'required' but no 'tools' were sent.", 'tool_choice', 'invalid_value');
  return {
    model: body.model,
    input: { type: 'messages', messages },
    maxTokens: body.max_output_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    stop: [],
    responseFormat: formatOf(body.text?.format),
    stream: Boolean(body.stream),
    user: body.user ?? body.safety_identifier ?? undefined,
    ...(body.ignore_eos != null && { ignoreEos: body.ignore_eos }),
    n: 1,
    ...(tools && { tools, toolChoice, ...(body.parallel_tool_calls != null && { parallelToolCalls: body.parallel_tool_calls }) }),
  };
}
