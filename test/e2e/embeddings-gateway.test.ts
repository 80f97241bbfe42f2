// /v1/embeddings through the gateway: sim replicas (a hashed bag of words, so shared words mean nearby vectors) and
// an OpenAI-compatible replica passed through to `autoglm sim`'s /v1/embeddings, with a dead replica failed over.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { OpenAIEmbeddings } from '@langchain/openai';
import { embed, embedMany } from 'ai';
import OpenAI from 'openai';
import { request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
// Every server's ledger goes to a fresh folder.
import { startSim, type CliProcess } from '../support/processes.js';
import { storiesPath } from '../support/server.js';

const norm = (v: readonly number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const f32 = (v: readonly number[]) => v.map(Math.fround);

describe('POST /v1/embeddings through the gateway', () => {
  let upstream: CliProcess & { url: string };
  let gateway: GatewayServer;
  let client: OpenAI;

  before(async () => {
    upstream = await startSim(['--preset', 'instant', '--model', 'vectors', '--port', '0']);
    const yaml = [
      'models:',
      '  local:',
      '    replicas:',
      '      - { type: sim, preset: instant }',
      '      - { type: sim, preset: instant }',
      '  remote:',
      '    breaker: { failureThreshold: 2, openMs: 60000 }',
      '    retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 }',
      '    health: { intervalMs: 600000 }',
      '    replicas:',
      // Nothing listens on port 9 of the loopback: every call to it fails to connect.
      '      - { type: openai, id: dead, preset: autoglm, baseUrl: "http://127.0.0.1:9/v1", connectTimeoutMs: 500 }',
      `      - { type: openai, id: alive, preset: autoglm, baseUrl: "${upstream.url}/v1", upstreamModel: vectors }`,
      '  stories:',
      `    replicas: [{ type: llama, model: "${storiesPath}", threads: 1, parallel: 1 }]`,
    ].join('\n');
    gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0 }, seed: 7 });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 30_000 });
  });

  after(async () => {
    await gateway?.close();
    upstream?.child.kill('SIGTERM');
    await upstream?.exited;
  });

  it('answers the openai SDK as floats and as base64, and texts that share words lie closer', async () => {
    const texts = ['The cat sat on the mat.', 'A cat on a mat!', 'Stock prices fell sharply in Tokyo.'];
    const floats = await client.embeddings.create({ model: 'local', input: texts, encoding_format: 'float' });
    assert.equal(floats.object, 'list');
    assert.equal(floats.model, 'local');
    const [cat, mat, stocks] = floats.data.map((d) => d.embedding) as [number[], number[], number[]];
    for (const v of [cat, mat, stocks]) {
      assert.equal(v.length, 256);
      assert.ok(Math.abs(norm(v) - 1) < 1e-9, 'unit length');
    }
    // {the, the, cat, sat, on, mat} and {a, a, cat, on, mat} share three words: a cosine of 3/√56 ≈ 0.40.
    assert.ok(dot(cat, mat) > 0.35, `shared words, close: ${dot(cat, mat)}`);
    assert.ok(Math.abs(dot(cat, stocks)) < 0.15, `no shared words, far: ${dot(cat, stocks)}`);
    // The simulator counts a word a token.
    assert.equal(floats.usage.prompt_tokens, 6 + 5 + 6);

    const decoded = await client.embeddings.create({ model: 'local', input: texts });
    assert.deepEqual(
      decoded.data.map((d) => d.embedding),
      floats.data.map((d) => f32(d.embedding)),
    );
  });

  it('shortens vectors to the dimensions asked for, normalized again', async () => {
    const full = await client.embeddings.create({ model: 'local', input: 'the river and the light', encoding_format: 'float' });
    const short = await client.embeddings.create({ model: 'local', input: 'the river and the light', encoding_format: 'float', dimensions: 64 });
    const v = short.data[0]!.embedding;
    assert.equal(v.length, 64);
    assert.ok(Math.abs(norm(v) - 1) < 1e-9, 'unit length');
    const prefix = full.data[0]!.embedding.slice(0, 64);
    assert.ok(Math.abs(dot(v, prefix) / norm(prefix) - 1) < 1e-9, 'the same direction as the full vector’s first 64');
    const tooMany = await client.embeddings.create({ model: 'local', input: 'a', dimensions: 300 }).catch((e: unknown) => e);
    assert.ok(tooMany instanceof OpenAI.BadRequestError, 'more dimensions than the model has is a 400');
    assert.equal(tooMany.param, 'dimensions');
  });

  it('passes an OpenAI-compatible replica through to its upstream, failing over from a dead replica', async () => {
    const texts = ['once upon a time', 'a small story about time'];
    const local = await client.embeddings.create({ model: 'local', input: texts, encoding_format: 'float' });
    for (let i = 0; i < 8; i++) {
      const remote = await client.embeddings.create({ model: 'remote', input: texts, encoding_format: 'float' });
      assert.equal(remote.model, 'remote');
      assert.deepEqual(
        remote.data.map((d) => d.embedding),
        local.data.map((d) => d.embedding),
      );
      assert.equal(remote.usage.prompt_tokens, local.usage.prompt_tokens);
    }
    const dead = gateway.served.runtime.replicaStatus().find((r) => r.id === 'dead');
    assert.equal(dead?.breaker, 'open', 'the dead replica was tried, failed over from, and its breaker opened');
    // dimensions go to the upstream, which shortens.
    const short = await client.embeddings.create({ model: 'remote', input: texts[0]!, encoding_format: 'float', dimensions: 32 });
    assert.equal(short.data[0]!.embedding.length, 32);
    // The upstream's 400 reaches the caller as a 400, naming the field.
    const long = await request(`${gateway.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'remote', input: 'word '.repeat(9000) }),
    });
    const body = (await long.body.json()) as { error: { param: string | null; message: string } };
    assert.equal(long.statusCode, 400, JSON.stringify(body));
    assert.match(body.error.message, /9000 tokens.*8191/);
  });

  it('serves LangChain.js and the Vercel AI SDK, and a query finds the passage it shares words with', async () => {
    const passages = ['The river runs past the old mill.', 'Bread is baked in the morning.', 'Cats sleep most of the day.'];
    const reference = await client.embeddings.create({ model: 'local', input: passages, encoding_format: 'float' });

    const langchain = new OpenAIEmbeddings({ configuration: { baseURL: `${gateway.url}/v1` }, apiKey: 'x', model: 'local', maxRetries: 0 });
    const documents = await langchain.embedDocuments(passages);
    assert.deepEqual(
      documents.map(f32),
      reference.data.map((d) => f32(d.embedding)),
    );
    const query = await langchain.embedQuery('when do cats sleep');
    const best = documents.map((d) => dot(d, query)).reduce((bi, s, i, all) => (s > all[bi]! ? i : bi), 0);
    assert.equal(best, 2, 'the passage about cats sleeping ranks first');

    const provider = createOpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x' });
    const one = await embed({ model: provider.embedding('remote'), value: passages[0]!, maxRetries: 0 });
    assert.deepEqual(f32(one.embedding), f32(reference.data[0]!.embedding));
    const many = await embedMany({ model: provider.embedding('local'), values: passages, maxRetries: 0 });
    assert.deepEqual(
      many.embeddings.map(f32),
      reference.data.map((d) => f32(d.embedding)),
    );
  });

  it('embeds with an embedded llama replica, the GGUF that serves its chat', async () => {
    const res = await client.embeddings.create({ model: 'stories', input: ['Once upon a time', 'The end.'], encoding_format: 'float' });
    assert.equal(res.model, 'stories');
    assert.deepEqual(
      res.data.map((d) => d.embedding.length),
      [64, 64],
    );
    assert.ok(Math.abs(norm(res.data[0]!.embedding) - 1) < 1e-6, 'unit length');
    const chat = await client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 });
    assert.equal(chat.choices.length, 1);
  });

  it('answers a model it does not serve with 404 model_not_found', async () => {
    const res = await request(`${gateway.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'nope', input: 'a' }),
    });
    const body = (await res.body.json()) as { error: { code: string; param: string } };
    assert.equal(res.statusCode, 404);
    assert.equal(body.error.code, 'model_not_found');
    assert.equal(body.error.param, 'model');
  });
});
