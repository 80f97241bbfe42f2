// Door of OpenAI's Responses dialect: POST /v1/responses on the inference fast path, GET/DELETE of stored responses.
import type { ServingState } from '../../app.js';
import type { InferenceEndpoint } from '../../inference-endpoint.js';
import { responsesEndpoint } from './endpoint.js';

export { responsesRoutes } from './routes.js';
export { ResponsesStreamEncoder } from './stream-encoder.js';

export const responsesEndpoints = (state: ServingState): InferenceEndpoint[] => [responsesEndpoint(state)];
