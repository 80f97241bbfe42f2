// The inference endpoints this server answers, one list per wire dialect: each dialect's room adds its own here.
import type { ServingState } from './app.js';
import type { InferenceEndpoint } from './inference-endpoint.js';
import { openAIEndpoints } from './routes/openai-inference.js';
import { messagesEndpoint } from './dialects/anthropic/index.js';
import { responsesEndpoints } from './dialects/responses/index.js';

export function inferenceEndpoints(_state: ServingState): InferenceEndpoint[] {
  return [...openAIEndpoints, ...responsesEndpoints(_state), messagesEndpoint];
}
