// Door of Anthropic's Messages dialect: POST /v1/messages (an inference endpoint), count_tokens, and errors in its shape.
export { messagesEndpoint, anthropicCredential } from './messages-endpoint.js';
export { countTokensRoutes, TOKEN_COUNT_HEADER } from './count-tokens.js';
export { anthropicErrorBody, anthropicErrorEvent, anthropicErrorType, anthropicStatusOf, isAnthropicPath } from './anthropic-errors.js';
export { messagesBody, countTokensBody, BLOCK_TYPES, type MessagesBody, type CountTokensBody } from './messages-schema.js';
export { messagesStreamEncoder } from './messages-stream.js';
export { messageToWire } from './messages-answer.js';
