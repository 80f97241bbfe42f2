// Fuzz cases for Anthropic's Messages routes (/v1/messages and count_tokens): wrong types per field, odd content
// blocks, malformed JSON, deep nesting, methods, media types and keys. Which bodies must be refused is read from the
// dialect's own zod schemas; every error must be in Anthropic's shape, {"type":"error","error":{"type","message"}}.
import type { z } from 'zod';
import type { Random } from '../../src/core/index.js';
import { countTokensBody, messagesBody } from '../../src/server/dialects/anthropic/index.js';
import { EACH_TYPE, ODD, paramText, shuffled, withValue, type Target } from './body-cases.js';
import type { FuzzCase } from './fuzz-case.js';
import { httpRequest, type RawResponse } from './raw-http.js';

type Path = (string | number)[];
type Json = unknown;

const ERROR_TYPES = new Set([
  'invalid_request_error',
  'authentication_error',
  'billing_error',
  'permission_error',
  'not_found_error',
  'request_too_large',
  'rate_limit_error',
  'timeout_error',
  'api_error',
  'overloaded_error',
]);

const excerpt = (b: Buffer) => JSON.stringify(b.subarray(0, 160).toString('utf8'));

/** The problem with an error body, or undefined when it is Anthropic's {"type":"error","error":{"type","message"}}. */
export function anthropicErrorProblem(response: RawResponse): string | undefined {
  const type = response.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) return `error ${response.status} has content-type ${JSON.stringify(type)}, not JSON: ${excerpt(response.body)}`;
  let json: unknown;
  try {
    json = JSON.parse(response.body.toString('utf8'));
  } catch {
    return `error ${response.status} body is not JSON: ${excerpt(response.body)}`;
  }
  const body = json as { type?: unknown; error?: { type?: unknown; message?: unknown } } | null;
  const keys = body && typeof body === 'object' ? Object.keys(body).sort().join(',') : '';
  if (keys !== 'error,type' || body!.type !== 'error') return `error ${response.status} is not in Anthropic's shape: ${excerpt(response.body)}`;
  const error = body!.error;
  const fields = error && typeof error === 'object' ? Object.keys(error).sort().join(',') : '';
  if (fields !== 'message,type') return `error ${response.status} has fields ${fields}, not message,type: ${excerpt(response.body)}`;
  if (typeof error!.message !== 'string' || error!.message.length === 0) return `error ${response.status} has no message`;
  if (!ERROR_TYPES.has(error!.type as string)) return `error ${response.status} has type ${JSON.stringify(error!.type)}, not one of Anthropic's`;
  return undefined;
}

const messageOf = (r: RawResponse) => (JSON.parse(r.body.toString('utf8')) as { error: { message: string } }).error.message;

/** The bases requests are varied from: each a valid request of its route. */
export function anthropicBases(model: string) {
  const plain = { model, max_tokens: 4, messages: [{ role: 'user', content: 'Once upon a time' }] };
  const rich = {
    model,
    max_tokens: 4,
    system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Once' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'upon' }] },
      { role: 'user', content: 'a time' },
    ],
    stop_sequences: ['\n'],
    temperature: 0.5,
    top_p: 0.9,
    top_k: 40,
    metadata: { user_id: 'u-1' },
  };
  const tools = {
    model,
    max_tokens: 4,
    messages: [
      { role: 'user', content: 'What is 6 times 7?' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'multiply', input: { a: 6, b: 7 } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '42' }], is_error: false }] },
    ],
    tools: [{ name: 'multiply', description: 'a times b', input_schema: { type: 'object', properties: { a: { type: 'number' } } } }],
    tool_choice: { type: 'none' },
  };
  const count = { model, messages: [{ role: 'user', content: 'Once upon a time' }] };
  return { plain, rich, tools, count };
}

interface Route {
  path: string;
  schema: z.ZodType;
  base: Json;
  fields: Path[];
}

function routes(model: string): Route[] {
  const b = anthropicBases(model);
  const top = (schema: z.ZodObject) => Object.keys(schema.shape).map((k) => [k]);
  return [
    { path: '/v1/messages', schema: messagesBody, base: b.plain, fields: top(messagesBody) },
    {
      path: '/v1/messages',
      schema: messagesBody,
      base: b.rich,
      fields: [
        ['system', 0],
        ['system', 0, 'text'],
        ['system', 0, 'cache_control'],
        ['messages', 0, 'role'],
        ['messages', 0, 'content', 0],
        ['messages', 0, 'content', 0, 'type'],
        ['messages', 1, 'content'],
        ['stop_sequences', 0],
        ['metadata', 'user_id'],
      ],
    },
    {
      path: '/v1/messages',
      schema: messagesBody,
      base: b.tools,
      fields: [
        ['messages', 1, 'content', 0, 'id'],
        ['messages', 1, 'content', 0, 'name'],
        ['messages', 1, 'content', 0, 'input'],
        ['messages', 2, 'content', 0, 'tool_use_id'],
        ['messages', 2, 'content', 0, 'content'],
        ['messages', 2, 'content', 0, 'is_error'],
        ['tools', 0],
        ['tools', 0, 'name'],
        ['tools', 0, 'input_schema'],
        ['tool_choice'],
        ['tool_choice', 'type'],
      ],
    },
    { path: '/v1/messages/count_tokens', schema: countTokensBody, base: b.count, fields: top(countTokensBody) },
  ];
}

const json = (target: Target): [string, string][] => [['Content-Type', 'application/json'], ...target.inference];

/** A case whose body the schema decides: refused means a 400 whose message starts with the field, else not a 5xx. */
function schemaCase(target: Target, route: Route, name: string, body: Json, field: Path | undefined): FuzzCase {
  const refused = !route.schema.safeParse(body).success;
  const named = field?.join('.');
  return {
    name: `POST ${route.path}: ${name}`,
    pieces: [httpRequest('POST', route.path, { headers: json(target), body: JSON.stringify(body) })],
    errorShape: anthropicErrorProblem,
    expect: refused
      ? (r) => {
          if (r.status !== 400) return `the schema refuses this body, but the server answered ${r.status}`;
          const message = messageOf(r);
          return named && !message.startsWith(named) ? `the 400 does not start with ${named}: ${message}` : undefined;
        }
      : undefined,
  };
}

export function anthropicWrongTypeCases(rng: Random, target: Target): FuzzCase[] {
  const cases: FuzzCase[] = [];
  for (const route of routes(target.model)) {
    for (const field of route.fields) {
      // Four values a field, chosen by the seed from every JSON type and the odd ones: runs differ, each stays short.
      for (const value of shuffled(rng, [...EACH_TYPE, ...ODD]).slice(0, 4)) {
        const shown = JSON.stringify(value)!;
        const name = `${paramText(field)} = ${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown}`;
        cases.push(schemaCase(target, route, name, withValue(route.base, field, value), field));
      }
    }
  }
  return cases;
}

export function anthropicOddContentCases(target: Target): FuzzCase[] {
  const route = routes(target.model)[0]!;
  const blocks: Json[] = [
    [],
    [null],
    ['text'],
    [{}],
    [{ type: 'text' }],
    [{ type: 'text', text: null }],
    [{ type: 'TEXT', text: 'x' }],
    [{ type: 'text', text: 'x', extra: true }],
    [{ type: 'text', text: 'x', citations: [{ type: 'char_location' }] }],
    [{ type: 'image' }],
    [{ type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: 'AAAA' } }],
    [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: '!!!not-base64' } }],
    [{ type: 'image', source: { type: 'url', url: 'file:///etc/passwd' } }],
    [{ type: 'image', source: { type: 'url', url: 'http://127.0.0.1/cat.png' } }],
    [{ type: 'image', source: { type: 'file', file_id: 'f' } }],
    [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }],
    [{ type: 'thinking', thinking: 'hm', signature: 's' }],
    [{ type: 'redacted_thinking', data: 'x' }],
    [{ type: 'server_tool_use', id: 'x', name: 'web_search', input: {} }],
    [{ type: 'search_result', source: 'x', title: 't', content: [] }],
    [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }],
    [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'image', source: { type: 'url', url: 'http://x/y.png' } }] }],
    [{ type: 'tool_result', tool_use_id: 'unknown', content: 'orphan' }],
    Array.from({ length: 2000 }, () => ({ type: 'text', text: 'a ' })),
    { type: 'text', text: 'x' },
    'x'.repeat(100_000),
  ];
  const messageLists: Json[] = [
    [],
    [{ role: 'user' }],
    [{ role: 'system', content: 'not a turn here' }],
    [{ role: 'assistant', content: [{ type: 'tool_result', tool_use_id: 't', content: 'x' }] }],
    [{ role: 'user', content: 'hi', name: 'x' }],
    [{ role: 'assistant', content: 'prefilled' }],
  ];
  const tools: Json[] = [
    [{ type: 'web_search_20250305', name: 'web_search' }],
    [{ type: 'bash_20250124', name: 'bash' }],
    [{ name: 'f', input_schema: { type: 'string' } }],
    [{ name: 'bad name!', input_schema: { type: 'object' } }],
  ];
  return [
    ...blocks.map((c) =>
      schemaCase(target, route, `content = ${JSON.stringify(c)!.slice(0, 60)}`, withValue(route.base, ['messages', 0, 'content'], c), undefined),
    ),
    ...messageLists.map((m) =>
      schemaCase(target, route, `messages = ${JSON.stringify(m)!.slice(0, 60)}`, withValue(route.base, ['messages'], m), ['messages']),
    ),
    ...tools.map((t) => schemaCase(target, route, `tools = ${JSON.stringify(t)}`, { ...(route.base as object), tools: t }, ['tools'])),
    schemaCase(target, route, 'tool_choice names a tool not offered', { ...(route.base as object), tool_choice: { type: 'tool', name: 'f' } }, undefined),
    schemaCase(target, route, "tool_choice 'any' without tools", { ...(route.base as object), tool_choice: { type: 'any' } }, undefined),
  ];
}

/** Malformed JSON, deep nesting, wrong methods and media types, and keys: errors from every layer, in one shape. */
export function anthropicHttpCases(target: Target): FuzzCase[] {
  const b = anthropicBases(target.model);
  const valid = JSON.stringify(b.plain);
  const deepArray = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  const cases: FuzzCase[] = [];
  const add = (name: string, piece: Buffer, expect?: FuzzCase['expect'], extra: Partial<FuzzCase> = {}) =>
    cases.push({ name, pieces: [piece], errorShape: anthropicErrorProblem, expect, ...extra });
  const status =
    (...statuses: number[]) =>
    (r: RawResponse) =>
      statuses.includes(r.status) ? undefined : `expected ${statuses.join(' or ')}, got ${r.status}: ${excerpt(r.body)}`;
  for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
    for (const [name, body] of [
      ['empty', ''],
      ['{', '{'],
      ['cut after a key', '{"model":'],
      ['null', 'null'],
      ['an array', '[]'],
      ['a string', '"text"'],
      ['trailing garbage', `${valid}garbage`],
      ['two objects', valid + valid],
      ['__proto__ keys', valid.replace(/}$/, ',"__proto__":{"polluted":true}}')],
      ['a body of 100k nested arrays', deepArray(100_000)],
      ['content of 100k nested arrays', valid.replace('"Once upon a time"', deepArray(100_000))],
      ['metadata of 100k nested objects', valid.replace(/}$/, `,"metadata":${deepObject(100_000)}}`)],
    ] as const) {
      add(`POST ${path}: ${name}`, httpRequest('POST', path, { headers: json(target), body }), status(400));
    }
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      add(`${method} ${path}`, httpRequest(method, path, { headers: target.inference }), status(405));
    }
    for (const type of ['text/html', 'application/xml', 'multipart/form-data; boundary=x', 'application/octet-stream']) {
      add(`POST ${path} as ${type}`, httpRequest('POST', path, { headers: [['Content-Type', type], ...target.inference], body: valid }), status(400, 415));
    }
  }
  // Tool input_schema is the caller's: a deep one may be served or refused, never a 5xx.
  const deepTools = JSON.stringify(b.tools).replace(
    '{"type":"object","properties":{"a":{"type":"number"}}}',
    `{"type":"object","properties":${deepObject(100_000)}}`,
  );
  add('POST /v1/messages: tool input_schema 100k deep', httpRequest('POST', '/v1/messages', { headers: json(target), body: deepTools }));
  add('POST /v1/messages/batches', httpRequest('POST', '/v1/messages/batches', { headers: json(target), body: valid }), status(404));
  add(
    'POST /v1/messages: a model not served',
    httpRequest('POST', '/v1/messages', { headers: json(target), body: valid.replace(target.model, 'claude-x') }),
    status(404),
  );
  // Streams answered whole are read to their end: they must end on message_stop.
  add('POST /v1/messages: stream', httpRequest('POST', '/v1/messages', { headers: json(target), body: valid.replace(/}$/, ',"stream":true}') }), (r) =>
    r.status === 200 && r.body.toString('utf8').trimEnd().endsWith('data: {"type":"message_stop"}')
      ? undefined
      : `the stream does not end on message_stop: ${excerpt(r.body)}`,
  );
  return cases;
}

/** With auth on: keys by x-api-key, as Anthropic's clients send them, and their mistakes. */
export function anthropicKeyCases(target: Target): FuzzCase[] {
  const key = (target.inference[0]?.[1] ?? '').replace(/^Bearer /, '');
  const body = JSON.stringify(anthropicBases(target.model).plain);
  const variants: [string, [string, string][], number][] = [
    ['no key', [], 401],
    ['an empty x-api-key', [['x-api-key', '']], 401],
    ['a changed x-api-key', [['x-api-key', `${key.slice(0, -3)}zzz`]], 401],
    ['a 8 KB x-api-key', [['x-api-key', `agk_${'f'.repeat(8000)}`]], 401],
    ['x-api-key with Bearer', [['x-api-key', `Bearer ${key}`]], 401],
    ['the key in x-api-key', [['x-api-key', key]], 200],
    ['the key as a bearer token', [['Authorization', `Bearer ${key}`]], 200],
  ];
  return variants.flatMap(([name, headers, expected]) =>
    ['/v1/messages', '/v1/messages/count_tokens'].map((path) => ({
      name: `POST ${path}: ${name}`,
      pieces: [
        httpRequest('POST', path, {
          headers: [['Content-Type', 'application/json'], ['anthropic-version', '2023-06-01'], ...headers],
          body: path.endsWith('count_tokens') ? JSON.stringify({ model: target.model, messages: [{ role: 'user', content: 'x' }] }) : body,
        }),
      ],
      errorShape: anthropicErrorProblem,
      expect: (r: RawResponse) => (r.status === expected ? undefined : `expected ${expected}, got ${r.status}: ${excerpt(r.body)}`),
    })),
  );
}
