// GET /v1/responses/{id}/input_items: the conversation a stored response answered, as OpenAI's ResponseItem list,
// a page at a time (`limit`, `order`, `after`), each item with an id that stays the same from call to call.
import { invalidRequest } from '../../../core/index.js';
import type { InputItem } from './request-schema.js';

type Part = Extract<InputItem, { type: 'message' }>['content'] extends string | (infer P)[] ? P : never;

/** An item's id: its own when it came with one (the output items of earlier turns), else one made from its place. */
const idOf = (item: InputItem, prefix: string, responseId: string, index: number) => item.id ?? `${prefix}_${responseId.replace(/^resp_/, '')}_${index}`;

const partOut = (p: Part) => (p.type === 'input_image' ? { type: 'input_image', image_url: p.image_url, detail: p.detail ?? 'auto', file_id: null } : p);

/** A stored input item as OpenAI lists it: content as parts, a status, an id. */
function listed(item: InputItem, responseId: string, index: number) {
  switch (item.type) {
    case 'message': {
      const assistant = item.role === 'assistant';
      const content =
        typeof item.content === 'string'
          ? [assistant ? { type: 'output_text', text: item.content, annotations: [] } : { type: 'input_text', text: item.content }]
          : item.content.map(partOut);
      return { id: idOf(item, 'msg', responseId, index), type: 'message', role: item.role, status: item.status ?? 'completed', content };
    }
    case 'function_call':
      return {
        id: idOf(item, 'fc', responseId, index),
        type: 'function_call',
        status: item.status ?? 'completed',
        arguments: item.arguments,
        call_id: item.call_id,
        name: item.name,
      };
    case 'function_call_output':
      return {
        id: idOf(item, 'fco', responseId, index),
        type: 'function_call_output',
        status: item.status ?? 'completed',
        call_id: item.call_id,
        output: item.output,
      };
  }
}

export interface InputItemsQuery {
  limit?: unknown;
  order?: unknown;
  after?: unknown;
  include?: unknown;
}

/** One page of the list, OpenAI's cursor page: `data`, `first_id`, `last_id`, `has_more`. */
export function inputItemsPage(responseId: string, storedInput: string, query: InputItemsQuery) {
  const limit = query.limit === undefined ? 20 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalidRequest("'limit' is a whole number from 1 to 100.", 'limit', 'invalid_value');
  const order = query.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw invalidRequest("'order' is 'asc' or 'desc'.", 'order', 'invalid_value');
  if (query.include !== undefined) throw invalidRequest('extra output data (include) is not served here.', 'include', 'unsupported_value');
  const items = (JSON.parse(storedInput) as InputItem[]).map((item, i) => listed(item, responseId, i));
  if (order === 'desc') items.reverse();
  let start = 0;
  if (query.after !== undefined) {
    const at = items.findIndex((item) => item.id === query.after);
    if (at < 0) throw invalidRequest(`'after' names no item of this response: '${String(query.after)}'.`, 'after', 'invalid_value');
    start = at + 1;
  }
  const data = items.slice(start, start + limit);
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: start + limit < items.length };
}
