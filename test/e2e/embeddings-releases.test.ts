// /v1/embeddings naming a release through the gateway: split between its stable and canary versions as chat is (the
// same callers on the same versions), the answer's `model` naming the version; a pinned version goes straight through,
// and a canary whose replicas are down is answered for by the stable version.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';

const sim = '{ type: sim, preset: instant, outputTokens: 4 }';
const yaml = `
models:
  vec@v1: { replicas: [${sim}] }
  vec@v2: { replicas: [${sim}] }
  down@v1: { replicas: [${sim}] }
  down@v2:
    retry: { attempts: 1 }
    health: { intervalMs: 600000 }
    # Nothing listens on port 9 of the loopback: every call to it fails to connect.
    replicas: [{ type: openai, id: gone, preset: autoglm, baseUrl: "http://127.0.0.1:9/v1", connectTimeoutMs: 500 }]
releases:
  vec:
    stable: v1
    canary: { version: v2, steps: [50], holdSeconds: 600 }
    stickyBy: session
  down:
    stable: v1
    canary: { version: v2, steps: [100], holdSeconds: 600 }
    slo: { windowSeconds: 600 }
`;

describe('/v1/embeddings by release name', () => {
  let gateway: GatewayServer;
  let client: OpenAI;

  before(async () => {
    gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0 }, seed: 3 });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 30_000 });
  });

  after(async () => {
    await gateway?.close();
  });

  const embedAs = async (model: string, session: string) =>
    client.embeddings.create({ model, input: 'the cat sat on the mat', encoding_format: 'float' }, { headers: { 'x-session-id': session } });

  const chatAs = async (model: string, session: string) =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }, { headers: { 'x-session-id': session } });

  it('splits a release between its versions by the caller, as chat does, and names the version that answered', async () => {
    const sessions = Array.from({ length: 40 }, (_, i) => `s-${i}`);
    const versions = new Map<string, string>();
    for (const s of sessions) {
      const answer = await embedAs('vec', s);
      assert.equal(answer.data[0]!.embedding.length, 256, 'a sim vector');
      versions.set(s, answer.model);
    }
    const seen = new Set(versions.values());
    assert.deepEqual([...seen].sort(), ['vec@v1', 'vec@v2'], `a 50% canary answers some callers, stable the others: ${[...seen].join(', ')}`);
    for (const s of sessions) {
      assert.equal((await embedAs('vec', s)).model, versions.get(s), `${s} stays on its version`);
      assert.equal((await chatAs('vec', s)).model, versions.get(s), `${s} is on the same version for chat and embeddings`);
    }
  });

  it('lists the release among the models that embed, and takes a pinned version as it is', async () => {
    assert.equal((await embedAs('vec@v2', 'pinned')).model, 'vec@v2');
    assert.equal((await embedAs('vec@v1', 'pinned')).model, 'vec@v1');
    // A name served nowhere is still a 404 naming the models that embed, the release among them.
    const res = await request(`${gateway.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'nope', input: 'x' }),
    });
    const body = (await res.body.json()) as { error: { code: string; message: string } };
    assert.equal(res.statusCode, 404);
    assert.match(body.error.message, /\bvec\b/);
  });

  it("answers from the stable version when the canary's replicas are down", async () => {
    for (let i = 0; i < 3; i++) {
      const answer = await embedAs('down', `d-${i}`);
      assert.equal(answer.model, 'down@v1');
      assert.equal(answer.data.length, 1);
    }
  });
});

describe('/v1/embeddings by release name, with the cache on', () => {
  let gateway: GatewayServer;
  let client: OpenAI;

  before(async () => {
    const cached = `${yaml.slice(0, yaml.indexOf('  down@v1'))}releases:\n  vec:\n    stable: v1\n    canary: { version: v2, steps: [50], holdSeconds: 600 }\ncache: {}\n`;
    gateway = await serveGateway(parseGatewayConfig(cached), { serverOverrides: { port: 0 }, seed: 3 });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 30_000 });
  });

  after(async () => {
    await gateway?.close();
  });

  /** The version whose vectors a session got, and whether they came from the cache. */
  const embedAs = (session: string) =>
    client.embeddings
      .create({ model: 'vec', input: 'the cat sat on the mat', encoding_format: 'float' }, { headers: { 'x-session-id': session } })
      .withResponse()
      .then(({ data, response }) => ({ model: data.model, cache: response.headers.get('x-autoglm-cache') }));

  it("never serves one version's vectors for another: each version's are cached apart, and a promotion switches at once", async () => {
    const sessions = Array.from({ length: 20 }, (_, i) => `s-${i}`);
    const first = [];
    for (const s of sessions) first.push(await embedAs(s));
    assert.deepEqual([...new Set(first.map((a) => a.model))].sort(), ['vec@v1', 'vec@v2'], 'the canary embeds for its sessions');
    assert.equal(first.filter((a) => a.cache === 'miss').length, 2, 'each version embedded the input once');
    for (const [i, s] of sessions.entries()) assert.deepEqual(await embedAs(s), { model: first[i]!.model, cache: 'hit' });

    const promoted = await request(`${gateway.url}/admin/rollouts/vec/promote`, { method: 'POST' });
    assert.equal(promoted.statusCode, 200, await promoted.body.text());
    for (const s of sessions.slice(0, 10)) assert.equal((await embedAs(s)).model, 'vec@v2');
  });
});
