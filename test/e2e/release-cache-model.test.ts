// A release behind the response cache: the response's `model` names the version that answered, on a cache miss and
// on a hit, for a whole answer and for a stream, as the OpenAI SDK sees it, and over the WebSocket API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import WebSocket from 'ws';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';

const config = `
models:
  chat@v1: { replicas: [{ type: sim, preset: instant, outputTokens: 4 }] }
releases:
  chat: { stable: v1 }
cache: {}
`;

describe('release model names through the response cache', () => {
  let gateway: GatewayServer;
  let client: OpenAI;

  before(async () => {
    gateway = await serveGateway(parseGatewayConfig(config), { serverOverrides: { port: 0 }, seed: 1 });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'none', maxRetries: 0 });
  });

  after(async () => {
    await gateway?.close();
  });

  it('names the version on a whole answer, miss then hit', async () => {
    const ask = () =>
      client.chat.completions
        .create({ model: 'chat', temperature: 0, max_tokens: 4, messages: [{ role: 'user', content: 'whole answer' }] })
        .withResponse()
        .then(({ data, response }) => ({ model: data.model, cache: response.headers.get('x-autoglm-cache') }));
    assert.deepEqual(await ask(), { model: 'chat@v1', cache: 'miss' });
    assert.deepEqual(await ask(), { model: 'chat@v1', cache: 'hit' });
  });

  it('names the version in every chunk of a stream, miss then hit, sampled or not', async () => {
    const models = async (temperature: number) => {
      const stream = await client.chat.completions.create({
        model: 'chat',
        temperature,
        max_tokens: 4,
        stream: true,
        messages: [{ role: 'user', content: 'streamed answer' }],
      });
      const seen = new Set<string>();
      for await (const chunk of stream) seen.add(chunk.model);
      return [...seen];
    };
    assert.deepEqual(await models(0), ['chat@v1'], 'a temperature-0 stream on a miss');
    assert.deepEqual(await models(0), ['chat@v1'], 'a temperature-0 stream on a hit');
    assert.deepEqual(await models(1), ['chat@v1'], 'a sampled stream');
  });

  it('caches an n-choice answer whole: a hit replays every choice as it was, with one report', async () => {
    const ask = () =>
      client.chat.completions
        .create(
          { model: 'chat', n: 3, temperature: 1, max_tokens: 4, messages: [{ role: 'user', content: 'three choices' }] },
          { headers: { 'x-autoglm-cache': 'force' } },
        )
        .withResponse()
        .then(({ data, response }) => ({ texts: data.choices.map((c) => c.message.content), cache: response.headers.get('x-autoglm-cache') }));
    const first = await ask();
    assert.equal(first.cache, 'miss');
    assert.equal(first.texts.length, 3);
    assert.deepEqual(await ask(), { texts: first.texts, cache: 'hit' });
  });

  it('names the version in the chunks of a WebSocket stream', async () => {
    const ws = new WebSocket(`${gateway.url.replace('http', 'ws')}/v1/ws`);
    const models = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ model: 'chat', max_tokens: 4, messages: [{ role: 'user', content: 'over a socket' }] })));
      ws.on('error', reject);
      ws.on('message', (data) => {
        const text = data.toString();
        if (text === '[DONE]') {
          ws.close();
          resolve();
        } else models.add((JSON.parse(text) as { model?: string }).model ?? 'none');
      });
    });
    assert.deepEqual([...models], ['chat@v1']);
  });
});

describe('a release with a canary behind the response cache', () => {
  let gateway: GatewayServer;
  let client: OpenAI;

  before(async () => {
    const canary = `
models:
  chat@v1: { replicas: [{ type: sim, preset: instant, outputTokens: 4 }] }
  chat@v2: { replicas: [{ type: sim, preset: instant, outputTokens: 4 }] }
releases:
  chat: { stable: v1, canary: { version: v2, steps: [50], holdSeconds: 3600 } }
cache: {}
`;
    gateway = await serveGateway(parseGatewayConfig(canary), { serverOverrides: { port: 0 }, seed: 1 });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'none', maxRetries: 0 });
  });

  after(async () => {
    await gateway?.close();
  });

  /** The same cacheable request from one session: the version that answered, and whether the cache did. */
  const ask = (session: string) =>
    client.chat.completions
      .create(
        { model: 'chat', temperature: 0, max_tokens: 4, messages: [{ role: 'user', content: 'the same question' }] },
        { headers: { 'x-session-id': session } },
      )
      .withResponse()
      .then(({ data, response }) => ({ model: data.model, cache: response.headers.get('x-autoglm-cache') }));

  it('gives the canary its share of cacheable requests: each version answers from its own entries', async () => {
    const sessions = Array.from({ length: 20 }, (_, i) => `session-${i}`);
    const first = [];
    for (const s of sessions) first.push(await ask(s));
    const versions = new Set(first.map((a) => a.model));
    assert.deepEqual([...versions].sort(), ['chat@v1', 'chat@v2'], "sessions on the canary get the canary, not the stable version's cached answer");
    // Each version computed the answer once; every later ask is a hit for the version its session is on.
    assert.equal(first.filter((a) => a.cache === 'miss').length, 2);
    for (const [i, s] of sessions.entries()) assert.deepEqual(await ask(s), { model: first[i]!.model, cache: 'hit' });
  });

  it('serves the promoted version at once, never a cached answer of the old stable one', async () => {
    const promoted = await fetch(`${gateway.url}/admin/rollouts/chat/promote`, { method: 'POST' });
    assert.equal(promoted.status, 200, await promoted.text());
    for (let i = 0; i < 10; i++) assert.equal((await ask(`session-${i}`)).model, 'chat@v2');
  });
});
