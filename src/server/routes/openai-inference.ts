// OpenAI's inference endpoints: POST /v1/chat/completions and /v1/completions, whole or as SSE. They are served on
// node:http directly (see ../inference-routes.ts), as every dialect's inference endpoint is.
import type { InferenceEndpoint, StreamEncoder } from '../inference-endpoint.js';
import { chatCompletionToWire, chatStreamEncoder, completionStreamEncoder, textCompletionToWire } from '../openai-wire.js';
import { chatCompletionBody, chatRequestFromChat, chatRequestFromCompletion, completionBody, parseBody } from '../request-schema.js';

export const openAIEndpoints: readonly InferenceEndpoint[] = [
  {
    path: '/v1/chat/completions',
    call(raw) {
      const body = parseBody(chatCompletionBody, raw);
      const includeUsage = Boolean(body.stream_options?.include_usage);
      return {
        req: chatRequestFromChat(body),
        stream: (answered, answerKey) => chatStreamEncoder({ model: answered, includeUsage, answerKey }),
        whole: (result, answered, answerKey) => chatCompletionToWire(answered, result, answerKey),
      };
    },
  },
  {
    path: '/v1/completions',
    call(raw) {
      const body = parseBody(completionBody, raw);
      const req = chatRequestFromCompletion(body);
      const includeUsage = Boolean(body.stream_options?.include_usage);
      const echo = body.echo && req.input.type === 'text' ? req.input.text : undefined;
      return {
        req,
        stream: (answered, answerKey) => withEcho(completionStreamEncoder({ model: answered, includeUsage, answerKey }), echo),
        whole: (result, answered, answerKey) => textCompletionToWire(answered, result, echo, answerKey),
      };
    },
  },
];

/** `echo`: the prompt is sent back as the first text of every choice. */
function withEcho(encoder: StreamEncoder, echo: string | undefined): StreamEncoder {
  if (!echo) return encoder;
  const echoed = new Set<number>();
  return {
    encode(chunk) {
      if ((chunk.type === 'text-delta' || chunk.type === 'finish') && !echoed.has(chunk.index)) {
        echoed.add(chunk.index);
        return [...encoder.encode({ type: 'text-delta', index: chunk.index, text: echo }), ...encoder.encode(chunk)];
      }
      return encoder.encode(chunk);
    },
  };
}
