// POST /v1/responses: a body becomes a ChatRequest (after the stored turns it continues), the answer a Response
// object or its typed event stream; with `store` (the default) the response is kept for its tenant.
import { invalidRequest } from '../../../core/index.js';
import type { ServingState } from '../../app.js';
import type { InferenceEndpoint } from '../../inference-endpoint.js';
import { ANONYMOUS_TENANT } from '../../../tenancy/index.js';
import { chatRequestOf, inputItemsOf, messagesOf } from './conversation.js';
import { previousResponseNotFound } from './errors.js';
import { parseResponsesBody } from './parse-body.js';
import { responsesBody, type InputItem } from './request-schema.js';
import { echoOf, outputOf, responseHead, responseObject, usageToWire, type ResponseEcho } from './response-object.js';
import { ResponsesStreamEncoder } from './stream-encoder.js';

/**
 * Every Response echoes the tools and text format back, so they must serialize: a schema nested deeper than the
 * stack can walk is refused here, naming its field, rather than failing as a 500 when the answer is written.
 */
function deepEnoughToEcho(echo: ResponseEcho): void {
  for (const [param, value] of [
    ['tools', echo.tools],
    ['text.format', echo.text.format],
  ] as const) {
    try {
      JSON.stringify(value);
    } catch {
      throw invalidRequest(`'${param}' is nested too deeply to be checked; flatten its schema.`, param, 'invalid_value');
    }
  }
}

export function responsesEndpoint(state: ServingState): InferenceEndpoint {
  return {
    path: '/v1/responses',
    call(raw, caller) {
      const body = parseResponsesBody(responsesBody, raw);
      const tenant = caller.principal?.tenant ?? ANONYMOUS_TENANT;
      const store = state.tenancy?.responses;
      let earlier: InputItem[] = [];
      if (body.previous_response_id) {
        const previous = store?.get(tenant, body.previous_response_id);
        if (!previous) throw previousResponseNotFound(body.previous_response_id);
        // Both were checked when they were stored; the earlier output items are input items of the next turn.
        const { output } = JSON.parse(previous.response) as { output: InputItem[] };
        earlier = [...(JSON.parse(previous.input) as InputItem[]), ...output];
      }
      const input = inputItemsOf(body.input);
      const req = chatRequestOf(body, messagesOf(body.instructions, earlier, input));
      const echo = echoOf(body);
      deepEnoughToEcho(echo);
      const keep =
        store && echo.store
          ? (id: string, json: string) => store.put(tenant, id, { response: json, input: JSON.stringify(earlier.length ? [...earlier, ...input] : input) })
          : undefined;
      return {
        req,
        stream(answered, answerKey) {
          const head = responseHead(answered, echo, answerKey);
          return new ResponsesStreamEncoder(head, keep && ((_response, json) => keep(head.id, json)));
        },
        whole(result, answered, answerKey) {
          const head = responseHead(answered, echo, answerKey);
          const { status, output } = outputOf(result);
          // Its JSON is made once, for the store and the wire alike.
          const json = JSON.stringify(responseObject(head, { status, output, usage: usageToWire(result.usage) }));
          keep?.(head.id, json);
          return json;
        },
      };
    },
  };
}
