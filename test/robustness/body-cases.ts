// Fuzz cases inside well-framed requests: bad JSON, wrong types per field, odd content parts, deep nesting.
// Which bodies the server must refuse is read from its own request schema: one substituted field makes a body the
// schema refuses, and then the answer must be a 400 that names that field.
import type { z } from 'zod';
import type { Random } from '../../src/core/index.js';
import { chatCompletionBody, completionBody, inferBody } from '../../src/server/request-schema.js';
import { clientError, errorOf, statusIn, type FuzzCase } from './fuzz-case.js';
import { httpRequest } from './raw-http.js';

/** Who the cases are sent as, and to which model. */
export interface Target {
  model: string;
  /** Headers that authenticate an inference call (none when auth is off). */
  inference: [string, string][];
  /** Headers that authenticate an admin call. */
  admin: [string, string][];
}

type Path = (string | number)[];
type Json = unknown;

export const pick = <T>(rng: Random, items: readonly T[]): T => items[Math.floor(rng.next() * items.length)]!;
export function shuffled<T>(rng: Random, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** One value of every JSON type, each sent to every field. */
export const EACH_TYPE: Json[] = ['text', 2.5, -1, true, null, [], {}];
/** Odd values, a few per field, chosen by the seed. */
export const ODD: Json[] = [
  '',
  0,
  1e308,
  -1e308,
  2 ** 53,
  false,
  ['a'],
  [1, 2],
  { a: 1 },
  'x'.repeat(20_000),
  '\u0000\ud800\u202e',
  [[[]]],
  { type: 'text' },
  [null],
  -0.5,
  'null',
  '1',
];

export const paramText = (path: Path) => path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), '');

export function withValue(base: Json, path: Path, value: Json): Json {
  const copy = structuredClone(base) as Record<string | number, Json>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  node[path[path.length - 1]!] = value;
  return copy;
}

/** The bases requests are varied from: each a valid request of its route. */
export function bases(model: string) {
  const chat = { model, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 4 };
  const richChat = {
    model,
    messages: [
      { role: 'system', content: 'Be brief.', name: 'rules' },
      { role: 'user', content: [{ type: 'text', text: 'Once' }] },
    ],
    max_tokens: 4,
    stream_options: { include_usage: true },
    response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' } } },
    reasoning: { strategy: 'direct' },
    stop: ['\n'],
  };
  const toolChat = {
    model,
    messages: [
      { role: 'user', content: 'What is 6 times 7?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'multiply', arguments: '{"a":6,"b":7}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '42' },
    ],
    tools: [{ type: 'function', function: { name: 'multiply', description: 'a times b', parameters: { type: 'object' }, strict: false } }],
    tool_choice: { type: 'function', function: { name: 'multiply' } },
    max_tokens: 4,
  };
  const completion = { model, prompt: 'Once upon a time', max_tokens: 4 };
  const infer = { prompt: 'Once upon a time', max_tokens: 4 };
  return { chat, richChat, toolChat, completion, infer };
}

interface Endpoint {
  path: string;
  schema: z.ZodType;
  base: Json;
  fields: Path[];
}

function endpoints(model: string): Endpoint[] {
  const b = bases(model);
  const top = (schema: z.ZodObject) => Object.keys(schema.shape).map((k) => [k]);
  return [
    { path: '/v1/chat/completions', schema: chatCompletionBody, base: b.chat, fields: top(chatCompletionBody) },
    {
      path: '/v1/chat/completions',
      schema: chatCompletionBody,
      base: b.richChat,
      fields: [
        ['messages', 0],
        ['messages', 0, 'role'],
        ['messages', 0, 'content'],
        ['messages', 0, 'name'],
        ['messages', 1, 'content', 0],
        ['messages', 1, 'content', 0, 'type'],
        ['messages', 1, 'content', 0, 'text'],
        ['stream_options', 'include_usage'],
        ['response_format', 'type'],
        ['response_format', 'json_schema'],
        ['response_format', 'json_schema', 'schema'],
        ['response_format', 'json_schema', 'name'],
        ['reasoning', 'strategy'],
        ['reasoning', 'samples'],
        ['reasoning', 'budget_tokens'],
        ['reasoning', 'confidence'],
        ['stop', 0],
      ],
    },
    {
      path: '/v1/chat/completions',
      schema: chatCompletionBody,
      base: b.toolChat,
      fields: [
        ['tools', 0],
        ['tools', 0, 'type'],
        ['tools', 0, 'function'],
        ['tools', 0, 'function', 'name'],
        ['tools', 0, 'function', 'parameters'],
        ['tools', 0, 'function', 'strict'],
        ['tool_choice', 'function', 'name'],
        ['messages', 1, 'tool_calls'],
        ['messages', 1, 'tool_calls', 0, 'id'],
        ['messages', 1, 'tool_calls', 0, 'function', 'arguments'],
        ['messages', 2, 'tool_call_id'],
      ],
    },
    { path: '/v1/completions', schema: completionBody, base: b.completion, fields: top(completionBody) },
    { path: '/infer', schema: inferBody, base: b.infer, fields: top(inferBody) },
  ];
}

const json = (target: Target): [string, string][] => [['Content-Type', 'application/json'], ...target.inference];

/** A case whose body the schema decides: refused means a 400 naming the field, accepted means anything but a 5xx. */
function schemaCase(target: Target, e: Endpoint, name: string, body: Json, field: Path | undefined): FuzzCase {
  const refused = !e.schema.safeParse(body).success;
  const param = field && paramText(field);
  return {
    name: `POST ${e.path}: ${name}`,
    pieces: [httpRequest('POST', e.path, { headers: json(target), body: JSON.stringify(body) })],
    expect: refused
      ? (r) => {
          if (r.status !== 400) return `the schema refuses this body, but the server answered ${r.status}`;
          const error = errorOf(r);
          if (param && !(error.param ?? '').startsWith(param)) return `400 names param ${JSON.stringify(error.param)}, not ${param} (${error.message})`;
          return undefined;
        }
      : undefined,
  };
}

export function wrongTypeCases(rng: Random, target: Target): FuzzCase[] {
  const cases: FuzzCase[] = [];
  for (const e of endpoints(target.model)) {
    for (const field of e.fields) {
      // Every JSON type, and one odd value chosen by the seed.
      for (const value of [...EACH_TYPE, ...shuffled(rng, ODD).slice(0, 1)]) {
        const shown = JSON.stringify(value)!;
        cases.push(
          schemaCase(target, e, `${paramText(field)} = ${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown}`, withValue(e.base, field, value), field),
        );
      }
    }
  }
  return cases;
}

export function oddContentCases(target: Target): FuzzCase[] {
  const chat = endpoints(target.model)[0]!;
  const contents: Json[] = [
    [],
    [null],
    [1],
    ['text'],
    [{}],
    [{ type: 'text' }],
    [{ type: 'text', text: null }],
    [{ type: 'TEXT', text: 'x' }],
    [{ type: 'text', text: 'x', extra: { deep: true } }],
    [{ type: 'image_url' }],
    [{ type: 'image_url', image_url: 'http://127.0.0.1/cat.png' }],
    [{ type: 'image_url', image_url: { url: 'javascript:alert(1)' } }],
    [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }],
    [{ type: 'image_url', image_url: { url: 'data:image/png;base64,!!!not-base64' } }],
    [{ type: 'image_url', image_url: { url: 'http://127.0.0.1/cat.png', detail: 'max' } }],
    [{ type: 'input_audio', input_audio: { data: '', format: 'wav' } }],
    [{ type: 'file', file: {} }],
    [{ type: 'refusal', refusal: 'no' }],
    Array.from({ length: 2000 }, () => ({ type: 'text', text: 'a ' })),
    { type: 'text', text: 'x' },
    'x'.repeat(100_000),
  ];
  const messageLists: Json[] = [
    [{ role: 'user' }],
    [{}],
    [null],
    [[]],
    ['hi'],
    [{ role: 'user', content: 'hi', extra: 1 }],
    [{ role: 'tool', content: '42' }],
    [{ role: 'assistant', tool_calls: [{}] }],
    [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: 'not json' } }] }],
    [{ role: 'system', content: 'only a system message' }],
    [{ role: 'function', content: 'x', name: 'f' }],
    [{ role: 'user', content: 'hi', name: '' }],
    Array.from({ length: 20_000 }, () => ({ role: 'user', content: 'x' })),
  ];
  return [
    ...contents.map((c) =>
      schemaCase(target, chat, `messages[0].content = ${JSON.stringify(c)!.slice(0, 60)}`, withValue(chat.base, ['messages', 0, 'content'], c), [
        'messages',
        0,
        'content',
      ]),
    ),
    ...messageLists.map((m) => schemaCase(target, chat, `messages = ${JSON.stringify(m)!.slice(0, 60)}`, withValue(chat.base, ['messages'], m), ['messages'])),
  ];
}

export function malformedJsonCases(rng: Random, target: Target): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const b = bases(target.model);
  for (const [path, base] of [
    ['/v1/chat/completions', b.chat],
    ['/v1/completions', b.completion],
    ['/infer', b.infer],
  ] as const) {
    const valid = JSON.stringify(base);
    const bodies: [string, string | Buffer][] = [
      ['empty', ''],
      ['a space', ' '],
      ['{', '{'],
      ['}', '}'],
      ['cut after a key', '{"model":'],
      ['null', 'null'],
      ['true', 'true'],
      ['0', '0'],
      ['a string', '"text"'],
      ['an array', '[]'],
      ['an array of an object', '[{}]'],
      ['a trailing comma', valid.replace(/}$/, ',}')],
      ['single quotes', valid.replace(/"/g, "'")],
      ['bare keys', valid.replace(/"(\w+)":/g, '$1:')],
      ['trailing garbage', `${valid}garbage`],
      ['two objects', valid + valid],
      ['Infinity', valid.replace(/}$/, ',"max_tokens":1e999}')],
      ['NaN', valid.replace(/}$/, ',"seed":NaN}')],
      ['an unterminated string', '{"model":"unterminated}'],
      ['a bad escape', '{"model":"\\x41"}'],
      ['a control character', '{"model":"a\u0001b"}'],
      ['UTF-16', Buffer.from(valid, 'utf16le')],
    ];
    for (let i = 0; i < 5; i++) {
      const cut = 1 + Math.floor(rng.next() * (valid.length - 2));
      bodies.push([`cut at byte ${cut}`, valid.slice(0, cut)]);
    }
    for (let i = 0; i < 4; i++) {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rng.next() * 300) }, () => Math.floor(rng.next() * 256)));
      bodies.push([`${bytes.length} random bytes`, bytes]);
    }
    for (const [name, body] of bodies) {
      cases.push({ name: `POST ${path}: ${name}`, pieces: [httpRequest('POST', path, { headers: json(target), body })], expect: statusIn(400) });
    }
    // A BOM before valid JSON, or bytes that are not UTF-8 inside a string, may be accepted or refused; a few bytes
    // changed may still be valid JSON.
    cases.push({ name: `POST ${path}: a byte-order mark`, pieces: [httpRequest('POST', path, { headers: json(target), body: `\ufeff${valid}` })] });
    const notUtf8 = Buffer.concat([Buffer.from(valid.slice(0, -1)), Buffer.from(',"user":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
    cases.push({ name: `POST ${path}: invalid UTF-8 in a string`, pieces: [httpRequest('POST', path, { headers: json(target), body: notUtf8 })] });
    // Changes stay before max_tokens, which keeps every answer short.
    const changeable = valid.indexOf('"max_tokens"');
    for (let i = 0; i < 6; i++) {
      const bytes = Buffer.from(valid);
      const flips = 1 + Math.floor(rng.next() * 3);
      for (let f = 0; f < flips; f++) bytes[Math.floor(rng.next() * changeable)] = Math.floor(rng.next() * 256);
      cases.push({
        name: `POST ${path}: ${flips} byte(s) changed: ${JSON.stringify(bytes.toString('latin1'))}`,
        pieces: [httpRequest('POST', path, { headers: json(target), body: bytes })],
      });
    }
    // Prototype pollution through the parser: the test checks afterwards that Object.prototype was left alone.
    cases.push({
      name: `POST ${path}: __proto__ keys`,
      pieces: [
        httpRequest('POST', path, {
          headers: json(target),
          body: valid.replace(/}$/, ',"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'),
        }),
      ],
    });
  }
  return cases;
}

/** Nesting deep enough to break anything recursive (a parser, a validator, a grammar builder, a hash), in every route. */
export function deepNestingCases(target: Target): FuzzCase[] {
  const b = bases(target.model);
  const deepArray = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  const deepSchema = (n: number) => `${'{"type":"object","properties":{"a":'.repeat(n)}{"type":"string"}${'}}'.repeat(n)}`;
  const inField = (base: Json, key: string, value: string) => JSON.stringify(base).replace(/}$/, `,"${key}":${value}}`);
  const chat = JSON.stringify(b.chat);
  // Malformed ones must be refused; free-form fields (metadata is ignored, tool parameters and schemas are the
  // caller's) may be answered, but never with a 5xx.
  const bodies: [string, string, string, boolean][] = [
    ['/v1/chat/completions', 'a body that is 100k nested arrays', deepArray(100_000), true],
    ['/v1/chat/completions', 'metadata of 100k nested objects', inField(b.chat, 'metadata', deepObject(100_000)), false],
    ['/v1/chat/completions', 'reasoning of 100k nested arrays', inField(b.chat, 'reasoning', deepArray(100_000)), true],
    ['/v1/chat/completions', 'content of 100k nested arrays', chat.replace('"Once upon a time"', deepArray(100_000)), true],
    ['/v1/chat/completions', 'tool parameters 100k deep', JSON.stringify(b.toolChat).replace('{"type":"object"}', deepObject(100_000)), false],
    ['/v1/chat/completions', 'a json_schema 1k deep', JSON.stringify(b.richChat).replace('{"type":"object"}', deepSchema(1_000)), false],
    ['/v1/chat/completions', 'a json_schema 20k deep', JSON.stringify(b.richChat).replace('{"type":"object"}', deepSchema(20_000)), false],
    [
      '/v1/chat/completions',
      'a json_schema of 60k nested items',
      JSON.stringify(b.richChat).replace('{"type":"object"}', `${'{"items":'.repeat(60_000)}{}${'}'.repeat(60_000)}`),
      false,
    ],
    ['/v1/completions', 'a prompt of 100k nested arrays', JSON.stringify(b.completion).replace('"Once upon a time"', deepArray(100_000)), true],
    ['/infer', 'a stop of 100k nested arrays', inField(b.infer, 'stop', deepArray(100_000)), true],
  ];
  return bodies.map(([path, name, body, malformed]) => ({
    name: `POST ${path}: ${name}`,
    pieces: [httpRequest('POST', path, { headers: json(target), body })],
    expect: malformed ? clientError : undefined,
  }));
}
