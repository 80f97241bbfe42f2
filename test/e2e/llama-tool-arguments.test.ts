// Under tool_choice 'required', every call the embedded engine makes names an offered function and carries arguments
// that parse and follow its JSON Schema: 200 seeded calls at temperature 1 on each real model file.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import { modelMirror, openaiClient, startServer } from '../support/server.js';

const tools: ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'book_table',
      description: 'Books a table at a restaurant',
      parameters: {
        type: 'object',
        properties: {
          restaurant: { type: 'string', maxLength: 20 },
          guests: { type: 'integer' },
          time: {
            type: 'object',
            properties: { hour: { type: 'integer' }, minute: { type: 'integer' } },
            required: ['hour', 'minute'],
            additionalProperties: false,
          },
          terrace: { type: 'boolean' },
          diet: { type: 'array', items: { enum: ['vegan', 'halal', 'none'] }, maxItems: 3 },
        },
        required: ['restaurant', 'guests', 'time', 'terrace', 'diet'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'convert',
      description: 'Converts an amount between currencies',
      parameters: {
        type: 'object',
        properties: {
          amount: { type: 'number' },
          from: { enum: ['EUR', 'USD', 'JPY'] },
          to: { enum: ['EUR', 'USD', 'JPY'] },
          note: { type: 'string', maxLength: 12 },
        },
        required: ['amount', 'from', 'to', 'note'],
        additionalProperties: false,
      },
    },
  },
];
const ajv = new Ajv();
const validators = new Map<string, ValidateFunction>(
  tools.map((t) => [t.type === 'function' ? t.function.name : '', ajv.compile(t.type === 'function' ? t.function.parameters! : {})]),
);

const CALLS = 200;

for (const file of ['stories260K.gguf', 'llama-2-tiny-random.gguf']) {
  describe(`tool arguments on ${file}`, () => {
    it(`${CALLS} seeded required calls at temperature 1: every call names an offered function with valid arguments`, async () => {
      const server = await startServer({ model: resolve(modelMirror, file), alias: 'm', parallel: 4 });
      const client = openaiClient(server);
      let checked = 0;
      const started = Date.now();
      const call = async (seed: number) => {
        const res = await client.chat.completions.create({
          model: 'm',
          messages: [{ role: 'user', content: seed % 2 ? 'Book a table for two at eight.' : 'How many yen is ten euros?' }],
          seed,
          temperature: 1,
          max_tokens: 300,
          tools,
          tool_choice: 'required',
          // One call an answer keeps the run short; parallel calls share the grammar of each call (llama-tools.test.ts).
          parallel_tool_calls: false,
        });
        const choice = res.choices[0]!;
        assert.equal(choice.finish_reason, 'tool_calls', `seed ${seed}: the answer is a finished call`);
        assert.ok(choice.message.tool_calls?.length, `seed ${seed}: at least one call`);
        for (const c of choice.message.tool_calls!) {
          assert.ok(c.type === 'function', `seed ${seed}: a function call`);
          const validate = validators.get(c.function.name);
          assert.ok(validate, `seed ${seed}: '${c.function.name}' is an offered function`);
          let args: unknown;
          assert.doesNotThrow(() => (args = JSON.parse(c.function.arguments)), `seed ${seed}: arguments parse: ${c.function.arguments}`);
          assert.ok(validate(args), `seed ${seed}: ${c.function.arguments} breaks the schema: ${JSON.stringify(validate.errors)}`);
          checked++;
        }
      };
      try {
        // Four at a time, as the server has four sequences (decoded as one batch): batches change the logits a little,
        // so each run draws other answers than the last.
        for (let seed = 1; seed <= CALLS; seed += 4) await Promise.all([0, 1, 2, 3].map((i) => call(seed + i)));
      } finally {
        await server.close();
      }
      assert.ok(checked >= CALLS, `${checked} calls checked`);
      console.log(`${file}: ${checked} calls in ${Date.now() - started} ms`);
    });
  });
}

describe('a capped string spelled in byte tokens', () => {
  // llama-2-tiny-random spelled these two notes in byte tokens that are not UTF-8 ("shotpackage" and four stray bytes):
  // llama.cpp's grammar counted the bytes as one character, text as four U+FFFD, and the note broke maxLength 12.
  it('stays within its maxLength, with no replacement character, for the seeds that once broke it', async () => {
    const server = await startServer({ model: resolve(modelMirror, 'llama-2-tiny-random.gguf'), alias: 'm', parallel: 4 });
    const client = openaiClient(server);
    try {
      for (const seed of [160, 356]) {
        const res = await client.chat.completions.create({
          model: 'm',
          messages: [{ role: 'user', content: 'How many yen is ten euros?' }],
          seed,
          temperature: 1,
          max_tokens: 300,
          tools: tools.slice(1),
          tool_choice: 'required',
          parallel_tool_calls: false,
        });
        const call = res.choices[0]!.message.tool_calls![0]!;
        assert.ok(call.type === 'function', `seed ${seed}: a function call`);
        const args = JSON.parse(call.function.arguments) as { note: string };
        assert.ok([...args.note].length <= 12, `seed ${seed}: ${JSON.stringify(args.note)} is within maxLength 12`);
        assert.equal(args.note.includes('\uFFFD'), false, `seed ${seed}: ${JSON.stringify(args.note)} has no replacement character`);
      }
    } finally {
      await server.close();
    }
  });
});
