// POST /v1/messages as an inference endpoint: Anthropic's key header, its body, its answer and its stream events.
import type { IncomingHttpHeaders } from 'node:http';
import type { InferenceEndpoint } from '../../inference-endpoint.js';
import { messageToWire } from './messages-answer.js';
import { chatRequestFromMessages } from './messages-request.js';
import { messagesBody } from './messages-schema.js';
import { messagesStreamEncoder } from './messages-stream.js';
import { parseAnthropicBody } from './parse-body.js';

/**
 * The caller's key as an Authorization value: Anthropic's clients send `x-api-key`, others a bearer token; either is
 * taken. `anthropic-version` and `anthropic-beta` are read by no one: there is one version of this API here.
 */
export function anthropicCredential(headers: IncomingHttpHeaders): string | undefined {
  const key = headers['x-api-key'];
  return typeof key === 'string' && key ? `Bearer ${key}` : headers.authorization;
}

export const messagesEndpoint: InferenceEndpoint = {
  path: '/v1/messages',
  credential: anthropicCredential,
  call(raw) {
    const body = parseAnthropicBody(messagesBody, raw);
    return {
      req: chatRequestFromMessages(body),
      stream: (answered, answerKey) => messagesStreamEncoder(answered, answerKey),
      whole: (result, answered, answerKey) => messageToWire(answered, result, answerKey),
    };
  },
};
