// Turns chat messages into prompt tokens with the model's template, or ChatML when the model has none.
import {
  ChatMLChatWrapper,
  GeneralChatWrapper,
  Llama2ChatWrapper,
  LlamaText,
  SpecialTokensText,
  resolveChatWrapper,
  type ChatHistoryItem,
  type ChatWrapper,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import type { ChatMessage } from '../../core/index.js';
import type { EngineSettings } from '../../config/index.js';

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

export function renderChat(wrapper: ChatWrapper, model: LlamaModel, messages: readonly ChatMessage[]): RenderedPrompt {
  const chatHistory: ChatHistoryItem[] = messages.map((m) => {
    switch (m.role) {
      case 'system':
        return { type: 'system', text: m.content };
      case 'assistant':
        return { type: 'model', response: [m.content] };
      default:
        // user turns, and tool results, which a template without tool syntax can only show as the user's text
        return { type: 'user', text: m.content };
    }
  });
  chatHistory.push({ type: 'model', response: [] });
  const state = wrapper.generateContextState({ chatHistory });
  return {
    tokens: state.contextText.tokenize(model.tokenizer),
    stopTexts: state.stopGenerationTriggers.map(triggerText).filter((t): t is string => Boolean(t)),
    continues: [],
  };
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
