// Fuzz cases for OpenAI's Responses API: wrong types in every field of three valid bodies (plain, rich items and a
// text format, a function-tool turn), odd items, deep nesting, and odd ids on GET/DELETE /v1/responses/{id}.
// The route's own schema decides which bodies are refused: those must be a 400 naming the field.
import type { Random } from '../../src/core/index.js';
import { responsesBody } from '../../src/server/dialects/responses/request-schema.js';
import { EACH_TYPE, ODD, paramText, shuffled, withValue, type Target } from './body-cases.js';
import { errorOf, statusIn, type FuzzCase } from './fuzz-case.js';
import { httpRequest } from './raw-http.js';

type Path = (string | number)[];
const PATH = '/v1/responses';

function bases(model: string) {
  const plain = { model, input: 'Once upon a time', max_output_tokens: 4 };
  const rich = {
    model,
    instructions: 'Be brief.',
    input: [
      { role: 'user', content: [{ type: 'input_text', text: 'Once upon a time' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'there was a cat', annotations: [] }] },
      { role: 'user', content: 'Go on.' },
    ],
    max_output_tokens: 4,
    text: { format: { type: 'json_schema', name: 'story', schema: { type: 'object', properties: { a: { type: 'string' } } } } },
    metadata: { run: 'fuzz' },
    store: false,
  };
  const tools = {
    model,
    input: [
      { role: 'user', content: 'Weather?' },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
    ],
    tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }],
    tool_choice: 'auto',
    max_output_tokens: 4,
  };
  return { plain, rich, tools };
}

const headers = (target: Target): [string, string][] => [['Content-Type', 'application/json'], ...target.inference];

/** Refused by the schema: a 400 whose param starts with the field; accepted: anything but a 5xx (checked for all). */
function bodyCase(target: Target, name: string, body: unknown, field: Path): FuzzCase {
  const refused = !responsesBody.safeParse(body).success;
  const param = paramText(field);
  return {
    name: `POST ${PATH}: ${name}`,
    pieces: [httpRequest('POST', PATH, { headers: headers(target), body: JSON.stringify(body) })],
    expect: refused
      ? (r) => {
          if (r.status !== 400) return `the schema refuses this body, but the server answered ${r.status}`;
          const error = errorOf(r);
          if (!(error.param ?? '').startsWith(param)) return `400 names param ${JSON.stringify(error.param)}, not ${param} (${error.message})`;
          return undefined;
        }
      : undefined,
  };
}

export function responsesBodyCases(rng: Random, target: Target): FuzzCase[] {
  const b = bases(target.model);
  const fields: [unknown, Path[]][] = [
    [b.plain, Object.keys(responsesBody.shape).map((k) => [k])],
    [
      b.rich,
      [
        ['input', 0],
        ['input', 0, 'role'],
        ['input', 0, 'content'],
        ['input', 0, 'content', 0],
        ['input', 0, 'content', 0, 'type'],
        ['input', 0, 'content', 0, 'text'],
        ['input', 1, 'type'],
        ['input', 1, 'content', 0, 'text'],
        ['text', 'format'],
        ['text', 'format', 'type'],
        ['text', 'format', 'name'],
        ['text', 'format', 'schema'],
        ['metadata', 'run'],
      ],
    ],
    [
      b.tools,
      [
        ['tools', 0],
        ['tools', 0, 'type'],
        ['tools', 0, 'name'],
        ['tools', 0, 'parameters'],
        ['input', 1, 'call_id'],
        ['input', 1, 'arguments'],
        ['input', 1, 'name'],
        ['input', 2, 'call_id'],
        ['input', 2, 'output'],
        ['tool_choice'],
      ],
    ],
  ];
  const cases: FuzzCase[] = [];
  for (const [base, paths] of fields) {
    for (const field of paths) {
      // Three types and one odd value per field, chosen by the seed: every type of every field is sent over a few
      // seeds, and one run stays short on the embedded model, where an accepted body is answered by generating.
      for (const value of [...shuffled(rng, EACH_TYPE).slice(0, 3), ...shuffled(rng, ODD).slice(0, 1)]) {
        const shown = JSON.stringify(value)!;
        cases.push(bodyCase(target, `${paramText(field)} = ${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown}`, withValue(base, field, value), field));
      }
    }
  }
  const items: unknown[] = [
    [],
    [null],
    [{}],
    [{ type: 'reasoning', summary: [] }],
    [{ type: 'item_reference', id: 'msg_1' }],
    [{ type: 'computer_call_output', call_id: 'c', output: {} }],
    [{ role: 'tool', content: 'x' }],
    [{ role: 'user', content: [{ type: 'input_image', image_url: 'javascript:alert(1)' }] }],
    [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }],
    [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: '', format: 'wav' } }] }],
    [{ type: 'function_call_output', call_id: 'nope', output: 'x' }],
    [{ type: 'function_call', call_id: 'c', name: 'f', arguments: 'not json' }],
    [{ role: 'system', content: 'only a system message' }],
    Array.from({ length: 20_000 }, () => ({ role: 'user', content: 'x' })),
  ];
  for (const input of items) cases.push(bodyCase(target, `input = ${JSON.stringify(input)!.slice(0, 60)}`, { ...b.plain, input }, ['input']));
  const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  const deepSchema = (n: number) => `${'{"type":"object","properties":{"a":'.repeat(n)}{"type":"string"}${'}}'.repeat(n)}`;
  const raw: [string, string][] = [
    ['metadata of 100k nested objects', JSON.stringify(b.plain).replace('"max_output_tokens":4', `"max_output_tokens":4,"metadata":${deep(100_000)}`)],
    ['tool parameters 100k deep', JSON.stringify(b.tools).replace('{"type":"object","properties":{"city":{"type":"string"}}}', deep(100_000))],
    ['a json_schema 5k deep', JSON.stringify(b.rich).replace('{"type":"object","properties":{"a":{"type":"string"}}}', deepSchema(5_000))],
    ['input of 100k nested arrays', JSON.stringify(b.plain).replace('"Once upon a time"', `${'['.repeat(100_000)}${']'.repeat(100_000)}`)],
  ];
  for (const [name, body] of raw) {
    cases.push({ name: `POST ${PATH}: ${name}`, pieces: [httpRequest('POST', PATH, { headers: headers(target), body })], expect: statusIn(200, 400) });
  }
  return cases;
}

/** Odd ids on the stored-response routes: unknown is a 404 (never another tenant's content), a bad URL a 4xx. */
export function responsesIdCases(target: Target): FuzzCase[] {
  const ids = ['resp_unknown', 'x'.repeat(5000), '%00', '%2e%2e%2fadmin', '..', '%ZZ', 'resp_%F0%9F%90%88', "'; DROP TABLE responses; --"].map((id) =>
    encodeURI(id) === id || id.includes('%') ? id : encodeURIComponent(id),
  );
  const cases: FuzzCase[] = [];
  for (const id of ids) {
    for (const method of ['GET', 'DELETE']) {
      cases.push({
        name: `${method} ${PATH}/${id.slice(0, 40)}`,
        pieces: [httpRequest(method, `${PATH}/${id}${method === 'GET' ? '?stream=false' : ''}`, { headers: target.inference })],
        expect: statusIn(400, 404, 414),
      });
    }
  }
  for (const query of ['limit=abc', 'limit=1e9', 'order=up', 'after=%00', 'limit=5&limit=6', 'include=x']) {
    cases.push({
      name: `GET ${PATH}/resp_unknown/input_items?${query}`,
      pieces: [httpRequest('GET', `${PATH}/resp_unknown/input_items?${query}`, { headers: target.inference })],
      expect: statusIn(400, 404),
    });
  }
  return cases;
}
