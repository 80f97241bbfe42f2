// POST /v1/embeddings on the embedded engine (stories260K): the openai SDK, LangChain.js and the Vercel AI SDK,
// unchanged, and raw HTTP for what a client library would never send.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { OpenAIEmbeddings } from '@langchain/openai';
import { embed, embedMany } from 'ai';
import type OpenAI from 'openai';
import { request } from 'undici';
import type { RunningServer } from '../../src/server/index.js';
import { openaiClient, startServer } from '../support/server.js';

const MODEL = 'stories260K';
const norm = (v: readonly number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('POST /v1/embeddings on the embedded engine', () => {
  let server: RunningServer;
  let client: OpenAI;
  const post = async (body: unknown) => {
    const res = await request(`${server.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return {
      status: res.statusCode,
      body: (await res.body.json()) as { error?: { message: string; type: string; param: string | null; code: string | null } },
    };
  };

  before(async () => {
    server = await startServer({ parallel: 1 });
    client = openaiClient(server);
  });
  after(() => server.close());

  it('answers the openai SDK as floats and as base64, the same vectors, in the order of the inputs', async () => {
    const texts = ['Once upon a time there was a cat.', 'The dog ran to the park.'];
    const floats = await client.embeddings.create({ model: MODEL, input: texts, encoding_format: 'float' });
    assert.equal(floats.object, 'list');
    assert.equal(floats.model, MODEL);
    assert.deepEqual(
      floats.data.map((d) => [d.object, d.index]),
      [
        ['embedding', 0],
        ['embedding', 1],
      ],
    );
    for (const d of floats.data) {
      assert.equal(d.embedding.length, 64, 'stories260K has 64-dimensional hidden states');
      assert.ok(Math.abs(norm(d.embedding) - 1) < 1e-6, `vector ${d.index} has length 1, not ${norm(d.embedding)}`);
    }
    assert.ok(dot(floats.data[0]!.embedding, floats.data[1]!.embedding) < 0.9999, 'two different texts get different vectors');
    assert.ok(floats.usage.prompt_tokens > 0, 'prompt tokens are counted');
    assert.equal(floats.usage.total_tokens, floats.usage.prompt_tokens);

    // Without encoding_format the SDK asks for base64 and decodes it itself: float32, little-endian.
    const decoded = await client.embeddings.create({ model: MODEL, input: texts });
    assert.deepEqual(
      decoded.data.map((d) => d.embedding),
      floats.data.map((d) => d.embedding.map(Math.fround)),
    );
    assert.deepEqual(decoded.usage, floats.usage);

    // One at a time, each text gets the vector it got in the batch.
    const one = await client.embeddings.create({ model: MODEL, input: texts[1]!, encoding_format: 'float' });
    assert.deepEqual(one.data[0]!.embedding, floats.data[1]!.embedding);
  });

  it('takes token arrays, one or many, and refuses an id outside the vocabulary', async () => {
    const single = await client.embeddings.create({ model: MODEL, input: [300, 301, 302], encoding_format: 'float' });
    assert.equal(single.data.length, 1);
    const many = await client.embeddings.create({ model: MODEL, input: [[300, 301, 302], [400]], encoding_format: 'float' });
    assert.equal(many.data.length, 2);
    assert.deepEqual(many.data[0]!.embedding, single.data[0]!.embedding);
    const bad = await post({ model: MODEL, input: [[1, 2, 512]] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error?.param, 'input');
    assert.match(bad.body.error!.message, /input\[0\].*512.*0 to 511/);
  });

  it('serves LangChain.js OpenAIEmbeddings and the Vercel AI SDK with the same vectors', async () => {
    const texts = ['A little girl found a ball.', 'The sun was warm.'];
    const reference = await client.embeddings.create({ model: MODEL, input: texts, encoding_format: 'float' });
    const expected = reference.data.map((d) => d.embedding);

    const langchain = new OpenAIEmbeddings({ configuration: { baseURL: `${server.url}/v1` }, apiKey: 'x', model: MODEL, maxRetries: 0 });
    const query = await langchain.embedQuery(texts[0]!);
    const documents = await langchain.embedDocuments(texts);
    // LangChain asks for base64 or floats depending on its version: either way float32 precision is what is promised.
    assert.deepEqual(query.map(Math.fround), expected[0]!.map(Math.fround));
    assert.deepEqual(
      documents.map((v) => v.map(Math.fround)),
      expected.map((v) => v.map(Math.fround)),
    );

    const provider = createOpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x' });
    const single = await embed({ model: provider.embedding(MODEL), value: texts[1]!, maxRetries: 0 });
    assert.deepEqual(single.embedding.map(Math.fround), expected[1]!.map(Math.fround));
    const batch = await embedMany({ model: provider.embedding(MODEL), values: texts, maxRetries: 0 });
    assert.deepEqual(
      batch.embeddings.map((v) => v.map(Math.fround)),
      expected.map((v) => v.map(Math.fround)),
    );
    assert.ok((batch.usage.tokens ?? 0) > 0, 'the AI SDK reads the usage');
  });

  it('refuses bad input with a 400 in OpenAI shape that names the field', async () => {
    const cases: [string, unknown, string, RegExp][] = [
      ['an empty string', { model: MODEL, input: '' }, 'input', /empty string/],
      ['an empty array', { model: MODEL, input: [] }, 'input', /empty array/],
      ['an empty string among strings', { model: MODEL, input: ['a', ''] }, 'input', /input\[1\].*empty string/],
      ['too many inputs', { model: MODEL, input: Array.from({ length: 2049 }, () => 'a') }, 'input', /2049 inputs.*2048/],
      ['no input', { model: MODEL }, 'input', /required/],
      ['a number', { model: MODEL, input: 42 }, 'input', /must be a string/],
      ['strings mixed with numbers', { model: MODEL, input: ['a', 1] }, 'input', /input\[1\]/],
      ['a negative token id', { model: MODEL, input: [[1, -2]] }, 'input', /input\[0\]/],
      ['an object', { model: MODEL, input: { text: 'a' } }, 'input', /must be a string/],
      ['no model', { input: 'a' }, 'model', /required/],
      ['an unknown encoding', { model: MODEL, input: 'a', encoding_format: 'hex' }, 'encoding_format', /invalid/],
      ['dimensions of zero', { model: MODEL, input: 'a', dimensions: 0 }, 'dimensions', /invalid/],
      ['dimensions the model cannot shorten to', { model: MODEL, input: 'a', dimensions: 32 }, 'dimensions', /64.*cannot shorten/],
      ['dimensions above the model', { model: MODEL, input: 'a', dimensions: 128 }, 'dimensions', /64/],
    ];
    for (const [what, body, param, message] of cases) {
      const res = await post(body);
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error?.type, 'invalid_request_error', what);
      assert.equal(res.body.error?.param, param, what);
      assert.match(res.body.error!.message, message, what);
    }
    // The model's own size is no change at all.
    const same = await post({ model: MODEL, input: 'a', dimensions: 64 });
    assert.equal(same.status, 200);
  });

  it('says how long an input is and what the limit is when it does not fit the context', async () => {
    const long = 'Once upon a time there was a little cat who liked to play. '.repeat(200);
    const res = await post({ model: MODEL, input: ['short', long] });
    assert.equal(res.status, 400);
    assert.equal(res.body.error?.param, 'input');
    assert.equal(res.body.error?.code, 'context_length_exceeded');
    const [, tokens, limit] = /input\[1\]' is (\d+) tokens; .* at most (\d+)/.exec(res.body.error!.message) ?? [];
    assert.ok(Number(tokens) > Number(limit), `the message gives the length and the limit: ${res.body.error!.message}`);
  });

  it('answers an unknown model with 404 model_not_found, and chat still works beside embeddings', async () => {
    const res = await post({ model: 'nope', input: 'a' });
    assert.equal(res.status, 404);
    assert.equal(res.body.error?.code, 'model_not_found');
    assert.equal(res.body.error?.param, 'model');
    const chat = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 });
    assert.equal(chat.choices.length, 1);
  });
});
