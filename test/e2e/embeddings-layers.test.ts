// Embeddings get the layers chat gets: keys and per-tenant limits by input tokens, the usage ledger, the response
// cache (per tenant) and the metrics, through a gateway to sim replicas.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import '../support/server.js';

interface Answer {
  data?: { embedding: number[] }[];
  usage?: { prompt_tokens: number };
  error?: { type: string; message: string };
}

const yaml = `
database: ":memory:"
auth: { enabled: true }
cache: { ttlSeconds: 60 }
tenants:
  acme: { limits: { requestsPerMinute: 100 } }
  tight: { limits: { tokensPerMinute: 30 } }
  narrow: { limits: { models: [other] } }
models:
  vec:
    replicas:
      - { type: sim, preset: instant }
`;

describe('embeddings through tenancy, the ledger, the cache and the metrics', () => {
  let gateway: GatewayServer;
  const keys: Record<string, string> = {};
  const call = async (key: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await request(`${gateway.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Answer };
  };

  before(async () => {
    gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0 }, seed: 1 });
    gateway.tenancy.store.ensureTenant('ops');
    for (const tenant of ['acme', 'tight', 'narrow']) keys[tenant] = gateway.tenancy.store.createKey({ tenant }).key;
    keys.ops = gateway.tenancy.store.createKey({ tenant: 'ops', scopes: ['admin'] }).key;
  });
  after(() => gateway?.close());

  it('refuses a call without a key, and a model the tenant may not use', async () => {
    const anonymous = await request(`${gateway.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'vec', input: 'a' }),
    });
    assert.equal(anonymous.statusCode, 401);
    await anonymous.body.dump();
    const narrow = await call(keys.narrow!, { model: 'vec', input: 'a' });
    assert.equal(narrow.status, 403, JSON.stringify(narrow.body));
  });

  it('answers a repeat from the cache, for the same tenant only, and writes both to the ledger', async () => {
    const body = { model: 'vec', input: ['the light on the river', 'a story about time'] };
    const first = await call(keys.acme!, body);
    assert.equal(first.status, 200);
    assert.equal(first.headers['x-autoglm-cache'], 'miss');
    const second = await call(keys.acme!, body);
    assert.equal(second.headers['x-autoglm-cache'], 'hit');
    assert.deepEqual(second.body.data, first.body.data);
    const bypassed = await call(keys.acme!, body, { 'x-autoglm-cache': 'bypass' });
    assert.equal(bypassed.headers['x-autoglm-cache'], undefined, 'a bypassed call neither reads nor reports the cache');
    // Another tenant's identical call is its own miss.
    const other = await call(keys.tight!, { model: 'vec', input: 'the light on the river' });
    assert.equal(other.headers['x-autoglm-cache'], 'miss');

    const usage = await request(`${gateway.url}/admin/usage?format=csv&tenant=acme`, { headers: { authorization: `Bearer ${keys.ops}` } });
    const [, ...lines] = (await usage.body.text()).trim().split('\n');
    const rows = lines.map((l) => l.split(','));
    assert.equal(rows.length, 3, 'three calls, three rows');
    for (const r of rows) {
      assert.equal(r[4], 'vec');
      assert.equal(r[6], String(first.body.usage?.prompt_tokens), 'prompt tokens as the answer reported them');
      assert.equal(r[7], '0', 'an embedding generates nothing');
      assert.equal(r[9], '200');
    }
    assert.deepEqual(rows.map((r) => r[11]).sort(), ['0', '0', '1']);
  });

  it('counts input tokens against a tenant’s tokens per minute, and refuses past them with 429', async () => {
    const statuses: number[] = [];
    let refusal: { body: Answer } | undefined;
    for (let i = 0; i < 6 && !refusal; i++) {
      // Distinct texts, so no call is a cache hit (hits cost nothing).
      const res = await call(keys.tight!, { model: 'vec', input: `call ${i} asks for seven words here` });
      statuses.push(res.status);
      if (res.status === 429) refusal = res;
    }
    assert.ok(refusal, `a 429 once 30 tokens were used: ${statuses.join(', ')}`);
    assert.equal(refusal.body.error?.type, 'rate_limit_error');
    assert.ok(statuses.filter((s) => s === 200).length >= 2, `some calls got through first: ${statuses.join(', ')}`);
  });

  it('reports embedded inputs and their tokens in the metrics', async () => {
    const res = await call(keys.acme!, { model: 'vec', input: ['one two three', 'four five', 'six'] });
    assert.equal(res.status, 200);
    const text = await (await request(`${gateway.url}/metrics`)).body.text();
    const inputs = Number(/^autoglm_embedding_inputs_total\{model="vec"\} (\d+)/m.exec(text)?.[1]);
    const prompt = Number(/^autoglm_prompt_tokens_total\{model="vec"\} (\d+)/m.exec(text)?.[1]);
    // Everything so far that the replicas answered or the cache did: at least these 3 inputs and 6 tokens.
    assert.ok(inputs >= 3, `inputs counted: ${inputs}`);
    assert.ok(prompt >= 6, `prompt tokens counted: ${prompt}`);
    assert.match(text, /^autoglm_request_duration_seconds_count\{model="vec",outcome="ok"\} \d+/m);
  });

  it('follows a reloaded config: a model added by the reload embeds at once', async () => {
    const before = await call(keys.acme!, { model: 'later', input: 'a' });
    assert.equal(before.status, 404);
    await gateway.served.runtime.reload(parseGatewayConfig(`${yaml}  later:\n    replicas:\n      - { type: sim, preset: instant }\n`));
    const after = await call(keys.acme!, { model: 'later', input: 'a river' });
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal(after.body.data?.[0]?.embedding.length, 256);
  });
});
