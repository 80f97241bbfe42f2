// Turns chat messages (tool turns too) into prompt tokens with the model's template, or ChatML when the model has none.
import {
  ChatMLChatWrapper,
  GeneralChatWrapper,
  Llama2ChatWrapper,
  LlamaText,
  SpecialTokensText,
  isChatModelResponseFunctionCall,
  resolveChatWrapper,
  type ChatHistoryItem,
  type ChatModelResponse,
  type ChatWrapper,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import type { ChatMessage, ToolDefinition } from '../../core/index.js';
import type { EngineSettings } from '../../config/index.js';
import { wrapperFunctions } from './tool-calls.js';

export function chatWrapperFor(model: LlamaModel, choice: EngineSettings['chatTemplate']): ChatWrapper {
  switch (choice) {
    case 'chatml':
      return new ChatMLChatWrapper();
    case 'llama2':
      return new Llama2ChatWrapper();
    case 'general':
      return new GeneralChatWrapper();
    case 'auto': {
      // resolveChatWrapper guesses from the model's name when there is no template; we only trust a real template.
      const hasTemplate = Boolean(model.fileInfo.metadata.tokenizer?.chat_template);
      return (hasTemplate && resolveChatWrapper(model)) || new ChatMLChatWrapper();
    }
  }
}

export interface RenderedPrompt {
  tokens: Token[];
  /** Text that ends the assistant's turn in this template. */
  stopTexts: string[];
  /**
   * The tokens whose text the generated text goes on from, for decoding its first piece. A raw continuation goes on
   * from the prompt ("there was a" + " little"); a chat answer starts a turn of its own, so SentencePiece's space
   * before its first word is dropped, as from the start of any text (OpenAI's answers never begin with a space).
   */
  continues: Token[];
}

export function renderChat(wrapper: ChatWrapper, model: LlamaModel, messages: readonly ChatMessage[], tools?: readonly ToolDefinition[]): RenderedPrompt {
  const chatHistory = chatHistoryOf(messages);
  // After a turn's calls and their results the model goes on with that same turn, as templates with tools expect.
  const last = chatHistory.at(-1);
  const continuesCalls = last?.type === 'model' && isChatModelResponseFunctionCall(last.response.at(-1));
  if (!continuesCalls) chatHistory.push({ type: 'model', response: [] });
  const state = contextState(wrapper, chatHistory, tools);
  return {
    tokens: state.contextText.tokenize(model.tokenizer),
    stopTexts: state.stopGenerationTriggers.map(triggerText).filter((t): t is string => Boolean(t)),
    continues: [],
  };
}

/** The wrapper's rendering, with the tools documented; parameters it cannot describe leave their documentation out. */
function contextState(wrapper: ChatWrapper, chatHistory: ChatHistoryItem[], tools: readonly ToolDefinition[] | undefined) {
  if (!tools?.length) return wrapper.generateContextState({ chatHistory });
  const availableFunctions = wrapperFunctions(tools);
  try {
    return wrapper.generateContextState({ chatHistory, availableFunctions, documentFunctionParams: true });
  } catch {
    return wrapper.generateContextState({ chatHistory, availableFunctions, documentFunctionParams: false });
  }
}

/** A call's arguments as the wrapper renders them: parsed JSON, or the text as it was when it is not JSON. */
function callParams(args: string): unknown {
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

/**
 * The conversation as the wrapper's history: an assistant turn's tool calls become its function-call items, each
 * carrying the result of the `tool` message that answers it, so the template renders tool turns in its own syntax.
 */
function chatHistoryOf(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const results = new Map<string, string>();
  for (const m of messages) if (m.role === 'tool' && m.toolCallId !== undefined) results.set(m.toolCallId, m.content);
  const answered = new Set<string>();
  const history: ChatHistoryItem[] = [];
  for (const m of messages) {
    switch (m.role) {
      case 'system':
        history.push({ type: 'system', text: m.content });
        break;
      case 'assistant': {
        const response: ChatModelResponse['response'] = m.content ? [m.content] : [];
        for (const call of m.toolCalls ?? []) {
          const result = results.get(call.id);
          if (result !== undefined) answered.add(call.id);
          response.push({ type: 'functionCall', name: call.name, params: callParams(call.arguments), result: result === undefined ? '' : callParams(result) });
        }
        history.push({ type: 'model', response });
        break;
      }
      case 'tool':
        // A result already carried by its call is not said again; one whose call is not in the history is shown as text.
        if (m.toolCallId === undefined || !answered.has(m.toolCallId)) history.push({ type: 'user', text: m.content });
        break;
      default:
        history.push({ type: 'user', text: m.content });
    }
  }
  return history;
}

/** Raw text for /v1/completions: no template, BOS first when the model expects one. */
export function renderText(model: LlamaModel, text: string): RenderedPrompt {
  const bos = model.tokens.bos;
  const tokens = model.tokenize(text);
  const all = model.tokens.shouldPrependBosToken && bos !== null ? [bos, ...tokens] : tokens;
  return { tokens: all, stopTexts: [], continues: all };
}

/**
 * The visible text of a stop trigger. Triggers made of special tokens (EOS, EOT) are caught as end-of-generation
 * tokens instead, so they are left out here.
 */
function triggerText(trigger: LlamaText): string | undefined {
  let text = '';
  for (const value of LlamaText(trigger).values) {
    if (typeof value === 'string') text += value;
    else if (value instanceof SpecialTokensText) text += value.value;
    else return undefined;
  }
  return text || undefined;
}
