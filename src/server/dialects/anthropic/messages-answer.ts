// A whole answer as Anthropic's Message: content blocks, stop reason and usage.
import type { ChatCompletion, FinishReason, ToolCall, Usage } from '../../../core/index.js';
import { newId } from '../../inference-endpoint.js';

export type StopReason = 'end_turn' | 'max_tokens' | 'tool_use';

/**
 * Anthropic's stop reason; a turn that called tools is tool_use even where an upstream said only `stop`, since agent
 * loops run the tools on that reason. An engine's finish does not say which stop sequence ended the text (or whether one did,
 * rather than end of sequence), so `stop_sequence` is never claimed: a stop is end_turn, with stop_sequence null.
 */
export const stopReasonOf = (r: FinishReason, calledTools = false): StopReason =>
  r === 'length' ? 'max_tokens' : r === 'tool_calls' || calledTools ? 'tool_use' : 'end_turn';

/**
 * Anthropic counts prompt tokens read from its cache apart from input_tokens; prompt tokens an engine reused from its
 * KV cache are reported the same way. Nothing is ever written to a cache on request, so cache_creation is 0.
 */
export const usageToWire = (u: Usage) => ({
  input_tokens: u.promptTokens - u.cachedPromptTokens,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: u.cachedPromptTokens,
  output_tokens: u.completionTokens,
});

/** Tool use ids look like Anthropic's (`toolu_`); the engine's own id is kept after the prefix, so results still match. */
export const toolUseId = (id: string): string => (id.startsWith('toolu_') ? id : id ? `toolu_${id.replace(/^call_/, '')}` : newId('toolu_'));

/** A call's arguments as the input object; a model that wrote no valid JSON object called with nothing. */
function inputOf(call: ToolCall): Record<string, unknown> {
  try {
    const input: unknown = JSON.parse(call.arguments || '{}');
    return input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function messageToWire(model: string, result: ChatCompletion, answerKey = newId('')) {
  const choice = result.choices[0];
  const text = choice?.text ?? '';
  const calls = choice?.toolCalls ?? [];
  // A turn with only tool calls has no text block; one with neither has an empty one, so content[0] is always there.
  const content: object[] = text || !calls.length ? [{ type: 'text', text }] : [];
  for (const call of calls) content.push({ type: 'tool_use', id: toolUseId(call.id), name: call.name, input: inputOf(call) });
  return {
    id: `msg_${answerKey}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReasonOf(choice?.finishReason ?? 'stop', calls.length > 0),
    stop_sequence: null,
    usage: usageToWire(result.usage),
  };
}
