// A Messages body as our ChatRequest: system prompt, blocks, tool calls and their results, tools and sampling.
import { invalidRequest, type ChatMessage, type ChatRequest, type ContentPart, type ToolChoice, type ToolDefinition } from '../../../core/index.js';
import type { ContentBlockParam, CountTokensBody, MessageParam, MessagesBody } from './messages-schema.js';

type TextBlock = Extract<ContentBlockParam, { type: 'text' }>;
type ImageBlock = Extract<ContentBlockParam, { type: 'image' }>;
type ToolResultBlock = Extract<ContentBlockParam, { type: 'tool_result' }>;

const textOf = (blocks: string | readonly TextBlock[], separator = ''): string =>
  typeof blocks === 'string' ? blocks : blocks.map((b) => b.text).join(separator);

const imagePart = (b: ImageBlock): ContentPart => ({
  type: 'image',
  url: b.source.type === 'base64' ? `data:${b.source.media_type};base64,${b.source.data}` : b.source.url,
});

/** A user turn's text and images, in order; `parts` only when there is an image, as the core expects. */
function userMessage(blocks: (TextBlock | ImageBlock)[]): ChatMessage {
  const content = blocks.map((b) => (b.type === 'text' ? b.text : '')).join('');
  if (!blocks.some((b) => b.type === 'image')) return { role: 'user', content };
  return { role: 'user', content, parts: blocks.map((b) => (b.type === 'text' ? { type: 'text', text: b.text } : imagePart(b))) };
}

/**
 * A tool's result as a tool message. Chat templates have no error flag for a result, so a failed call's result
 * says so in its text, where the model reads it.
 */
const toolMessage = (b: ToolResultBlock): ChatMessage => {
  const text = b.content === undefined ? '' : textOf(b.content);
  return { role: 'tool', content: b.is_error ? `Error: ${text}` : text, toolCallId: b.tool_use_id };
};

/** A user turn becomes its tool results (tool messages) and its text and images (user messages), in their order. */
function fromUser(m: MessageParam, at: number): ChatMessage[] {
  if (typeof m.content === 'string') return [{ role: 'user', content: m.content }];
  const out: ChatMessage[] = [];
  let pending: (TextBlock | ImageBlock)[] = [];
  const flush = () => {
    if (pending.length) out.push(userMessage(pending));
    pending = [];
  };
  for (const [i, b] of m.content.entries()) {
    if (b.type === 'tool_use') throw invalidRequest(`messages.${at}.content.${i}: tool_use blocks belong in assistant turns`, `messages.${at}.content.${i}`);
    if (b.type === 'tool_result') {
      flush();
      out.push(toolMessage(b));
    } else pending.push(b);
  }
  flush();
  // An empty block list is an empty user turn, not no turn at all.
  return out.length ? out : [{ role: 'user', content: '' }];
}

/** An assistant turn: its text, and the tools it called (sent back with their results). */
function fromAssistant(m: MessageParam, at: number): ChatMessage {
  if (typeof m.content === 'string') return { role: 'assistant', content: m.content };
  let content = '';
  const toolCalls: NonNullable<ChatMessage['toolCalls']> = [];
  for (const [i, b] of m.content.entries()) {
    if (b.type === 'text') content += b.text;
    else if (b.type === 'tool_use') toolCalls.push({ id: b.id, name: b.name, arguments: JSON.stringify(b.input) });
    else throw invalidRequest(`messages.${at}.content.${i}: ${b.type} blocks belong in user turns`, `messages.${at}.content.${i}`);
  }
  return toolCalls.length ? { role: 'assistant', content, toolCalls } : { role: 'assistant', content };
}

function messagesOf(body: CountTokensBody): ChatMessage[] {
  const messages: ChatMessage[] = [];
  // System blocks are paragraphs of one system prompt.
  if (body.system !== undefined) messages.push({ role: 'system', content: textOf(body.system, '\n') });
  for (const [i, m] of body.messages.entries()) {
    if (m.role === 'user') messages.push(...fromUser(m, i));
    else messages.push(fromAssistant(m, i));
  }
  return messages;
}

function toolsOf(body: CountTokensBody): { tools?: ToolDefinition[]; toolChoice?: ToolChoice; parallelToolCalls?: boolean } {
  const choice = body.tool_choice;
  const tools = body.tools?.length
    ? body.tools.map((t) => ({ name: t.name, description: t.description, parameters: t.input_schema, ...(t.strict !== undefined && { strict: t.strict }) }))
    : undefined;
  if (choice?.type === 'tool' && !tools?.some((t) => t.name === choice.name)) {
    throw invalidRequest(`tool_choice.name: the tool '${choice.name}' is not in tools`, 'tool_choice.name');
  }
  if (choice?.type === 'any' && !tools) throw invalidRequest("tool_choice: 'any' needs tools to choose from", 'tool_choice');
  if (!tools) return {};
  const toolChoice: ToolChoice | undefined =
    choice === undefined ? undefined : choice.type === 'any' ? 'required' : choice.type === 'tool' ? { name: choice.name } : choice.type;
  const parallel = choice && 'disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use ? { parallelToolCalls: false } : {};
  return { tools, toolChoice, ...parallel };
}

/** The conversation alone, as count_tokens sees it. */
export function chatRequestFromConversation(body: CountTokensBody): ChatRequest {
  return { model: body.model, input: { type: 'messages', messages: messagesOf(body) }, stop: [], responseFormat: { type: 'text' }, n: 1, ...toolsOf(body) };
}

export function chatRequestFromMessages(body: MessagesBody): ChatRequest {
  // Anthropic continues a last assistant turn (a prefill); chat templates here would close it and start another turn,
  // an answer the caller did not ask for.
  const last = body.messages.length - 1;
  if (body.messages[last]!.role === 'assistant') {
    throw invalidRequest(`messages.${last}: a last assistant turn (a prefill to continue) is not supported here; end with a user turn`, `messages.${last}`);
  }
  return {
    ...chatRequestFromConversation(body),
    maxTokens: body.max_tokens,
    stop: body.stop_sequences?.filter(Boolean) ?? [],
    ...(body.temperature !== undefined && { temperature: body.temperature }),
    ...(body.top_p !== undefined && { topP: body.top_p }),
    ...(body.top_k !== undefined && { topK: body.top_k }),
    ...(body.metadata?.user_id != null && { user: body.metadata.user_id }),
    stream: Boolean(body.stream),
  };
}
