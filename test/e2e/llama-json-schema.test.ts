// Structured output on the embedded engine: every finished json_schema answer parses and follows its schema.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import type { RunningServer } from '../../src/server/index.js';
import { openaiClient, startServer } from '../support/server.js';

const person = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    age: { type: 'integer' },
    score: { type: 'number' },
    ids: { type: 'array', items: { type: 'integer' } },
    pet: { type: 'object', properties: { kind: { enum: ['cat', 'dog'] }, legs: { type: 'integer' } }, required: ['kind', 'legs'], additionalProperties: false },
  },
  required: ['name', 'age', 'score', 'ids', 'pet'],
  additionalProperties: false,
};

describe('json_schema answers from the embedded engine', () => {
  let server: RunningServer;
  let client: OpenAI;
  before(async () => {
    server = await startServer({ parallel: 2 });
    client = openaiClient(server);
  });
  after(() => server.close());

  const ask = (schema: Record<string, unknown>, seed: number, stream = false) => ({
    model: 'stories260K',
    messages: [{ role: 'user' as const, content: 'Describe a person as JSON.' }],
    max_tokens: 400,
    seed,
    stream,
    response_format: { type: 'json_schema' as const, json_schema: { name: 'person', strict: true, schema } },
  });

  it('over 50 seeds, every answer that finished parses and validates (integers are plain integers)', async () => {
    const validate = new Ajv().compile(person);
    let finished = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const res = await client.chat.completions.create({ ...ask(person, seed), stream: false });
      const { message, finish_reason } = res.choices[0]!;
      if (finish_reason === 'length') {
        assert.match(message.content!, /^\s*\{/, `seed ${seed}: an answer cut by max_tokens is JSON so far`);
        continue;
      }
      assert.equal(finish_reason, 'stop');
      finished++;
      const value: unknown = JSON.parse(message.content!);
      assert.ok(validate(value), `seed ${seed}: ${message.content} breaks the schema: ${JSON.stringify(validate.errors)}`);
    }
    assert.ok(finished >= 40, `most answers finish within max_tokens (${finished} of 50)`);
  });

  it('an answer that breaks a rule the grammar cannot enforce ends in a clear error, never in a finish', async () => {
    // The grammar writes any string; the schema wants 40 digits, which a free string all but never is.
    const digits = { type: 'object', properties: { code: { type: 'string', pattern: '^[0-9]{40}$' } }, required: ['code'], additionalProperties: false };
    let failures = 0;
    for (let seed = 1; seed <= 4; seed++) {
      let finish: string | null = null;
      let error: unknown;
      try {
        for await (const chunk of await client.chat.completions.create({ ...ask(digits, seed), stream: true }))
          finish = chunk.choices[0]?.finish_reason ?? finish;
      } catch (err) {
        error = err;
      }
      assert.notEqual(finish, 'stop', `seed ${seed}: an answer that breaks its schema is never reported as finished`);
      if (finish === 'length') continue;
      failures++;
      assert.ok(error instanceof OpenAI.APIError, `seed ${seed}: the stream ends in an error event: ${String(error)}`);
      assert.match(error.message, /does not follow response_format\.json_schema: \/code must match pattern/);

      const whole = await client.chat.completions.create({ ...ask(digits, seed), stream: false }).catch((err: unknown) => err);
      assert.ok(whole instanceof OpenAI.InternalServerError, `seed ${seed}: the whole answer is a 500: ${String(whole)}`);
      assert.equal(whole.code, 'invalid_structured_output');
    }
    assert.ok(failures > 0, 'at least one answer finished and was checked');
  });

  it('numbers are finite: a random-weights model, free to write any exponent, writes none a client reads as Infinity', async () => {
    const random = await startServer({ model: 'llama-2-tiny-random' });
    try {
      const randomClient = openaiClient(random);
      const numbers = {
        type: 'object',
        properties: { score: { type: 'number' }, n: { type: 'number' } },
        required: ['score', 'n'],
        additionalProperties: false,
      };
      let finished = 0;
      for (let seed = 1; seed <= 30; seed++) {
        const res = await randomClient.chat.completions.create({
          ...ask(numbers, seed),
          stream: false,
          model: 'llama-2-tiny-random',
          max_tokens: 200,
          temperature: 1,
        });
        const { message, finish_reason } = res.choices[0]!;
        if (finish_reason !== 'stop') continue;
        finished++;
        const value = JSON.parse(message.content!) as { score: number; n: number };
        assert.ok(Number.isFinite(value.score) && Number.isFinite(value.n), `seed ${seed}: ${message.content} has a number JSON.parse reads as infinite`);
      }
      assert.ok(finished >= 20, `most answers finish (${finished} of 30)`);
    } finally {
      await random.close();
    }
  });
});
