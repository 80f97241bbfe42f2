// Two tenants against the real model: keys, per-tenant limits and their headers, budgets, the admin API's scopes,
// the usage ledger, and a response cache that never crosses tenants.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import { serveModel, type RunningServer } from '../../src/server/index.js';
import { runCli } from '../support/processes.js';
import { testPaths } from '../support/server.js';

const database = join(mkdtempSync(join(tmpdir(), 'autoglm-tenancy-')), 'tenants.db');
const model = 'stories260K';

describe('tenants, keys and limits', () => {
  let server: RunningServer;
  const keys: Record<string, string> = {};
  const client = (key: string | undefined) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key ?? '', maxRetries: 0, timeout: 30_000 });
  const ask = (key: string, extra: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming> = {}) =>
    client(key)
      .chat.completions.create({ model, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8, ...extra })
      .withResponse();
  const admin = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, key: string | undefined, body?: unknown) =>
    request(`${server.url}${path}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  before(async () => {
    server = await serveModel({
      engine: { model, threads: 1, parallel: 2 },
      server: { port: 0 },
      paths: testPaths(),
      tenancy: {
        auth: { enabled: true },
        database,
        cache: { ttlSeconds: 60 },
        tenants: {
          acme: { limits: { requestsPerMinute: 4, tokensPerMinute: 100_000 } },
          beta: { limits: { tokensPerDay: 120 } },
          narrow: { limits: { models: ['some-other-model'] } },
          solo: { limits: { maxConcurrent: 1 } },
          gamma: { limits: { requestsPerMinute: 50, tokensPerMinute: 20_000, maxConcurrent: 1, tokensPerDay: 3000 } },
        },
      },
    });
    // Keys made the way an operator makes them: with the CLI, against the file the server reads.
    for (const [tenant, scope] of [
      ['acme', 'inference'],
      ['beta', 'inference'],
      ['narrow', 'inference'],
      ['solo', 'inference'],
      ['gamma', 'inference'],
      ['ops', 'admin'],
    ] as const) {
      const cli = runCli(['keys', 'create', '--tenant', tenant, '--scope', scope, '--database', database]);
      assert.equal(await cli.exited, 0, cli.err());
      keys[tenant] = cli.out().trim();
      assert.match(keys[tenant]!, /^agk_[0-9a-f]{12}_/);
    }
    const limited = runCli(['keys', 'create', '--tenant', 'solo', '--limit', 'requestsPerMinute=1', '--database', database]);
    assert.equal(await limited.exited, 0, limited.err());
    keys.soloLimited = limited.out().trim();
  });

  after(async () => {
    await server?.close();
  });

  it('refuses a missing or wrong key with 401 in OpenAI shape, and never echoes the key', async () => {
    const missing = await request(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(missing.statusCode, 401);
    assert.match(((await missing.body.json()) as { error: { message: string } }).error.message, /Missing API key/);
    await assert.rejects(ask('not-a-key'), (err) => err instanceof OpenAI.AuthenticationError && /Malformed API key/.test(err.message));
    const wrong = `${keys.acme!.slice(0, -4)}AAAA`;
    await assert.rejects(
      ask(wrong),
      (err) => err instanceof OpenAI.AuthenticationError && /Incorrect API key/.test(err.message) && !err.message.includes(wrong),
    );
    const res = await admin('GET', '/v1/models', undefined);
    assert.equal(res.statusCode, 401);
    assert.equal(((await res.body.json()) as { error: { type: string } }).error.type, 'authentication_error');
  });

  it('holds acme to 4 requests a minute with OpenAI rate-limit headers, while beta is unaffected', async () => {
    const remaining: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { response } = await ask(keys.acme!);
      assert.equal(response.headers.get('x-ratelimit-limit-requests'), '4');
      assert.equal(response.headers.get('x-ratelimit-limit-tokens'), '100000');
      assert.match(response.headers.get('x-ratelimit-reset-requests') ?? '', /^\d+(\.\d)?s$|^\d+m[\d.]+s$|^\d+ms$/);
      remaining.push(response.headers.get('x-ratelimit-remaining-requests')!);
    }
    assert.deepEqual(remaining, ['3', '2', '1', '0']);
    await assert.rejects(ask(keys.acme!), (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError, String(err));
      assert.match(err.message, /4 requests per minute/);
      assert.ok(Number(err.headers?.get('retry-after')) >= 1, "Number(err.headers?.get('retry-after')) >= 1");
      assert.equal(err.headers?.get('x-ratelimit-limit-requests'), '4');
      assert.equal(err.headers?.get('x-ratelimit-remaining-requests'), '0');
      assert.match(err.headers?.get('x-ratelimit-reset-requests') ?? '', /^\d+(\.\d)?s$|^\d+m[\d.]+s$|^\d+ms$/);
      assert.equal(err.headers?.get('x-ratelimit-limit-tokens'), '100000');
      return true;
    });
    const { data } = await ask(keys.beta!);
    assert.ok(data.choices[0]!.message.content!.length > 0, 'data.choices[0]!.message.content!.length > 0');
  });

  it('refuses beta once its daily token budget is spent, saying when it resets', async () => {
    let refusal: unknown;
    for (let i = 0; i < 20 && !refusal; i++) await ask(keys.beta!).catch((err) => (refusal = err));
    assert.ok(refusal instanceof OpenAI.RateLimitError, `expected a refusal, got ${String(refusal)}`);
    assert.equal(refusal.code, 'budget_exceeded');
    assert.match(refusal.message, /daily token budget of 120 tokens; it resets at \d{4}-\d\d-\d\dT00:00:00/);
  });

  it('refuses a model the tenant may not use, and a second concurrent request over its limit', async () => {
    await assert.rejects(ask(keys.narrow!), (err) => err instanceof OpenAI.PermissionDeniedError && /may not use the model/.test(err.message));
    const first = client(keys.solo!).chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'A long tale' }],
      max_tokens: 200,
      stream: true,
      ignore_eos: true,
    } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
    const stream = await first;
    await assert.rejects(ask(keys.solo!), (err) => err instanceof OpenAI.RateLimitError && /already has 1 requests running/.test(err.message));
    for await (const _ of stream) {
      /* drain */
    }
    const { data } = await ask(keys.solo!);
    assert.equal(data.object, 'chat.completion');
  });

  it('sends the x-ratelimit headers with every refusal, tokens, budget and concurrency alike, not counting the refused call', async () => {
    const { response } = await ask(keys.gamma!);
    assert.equal(response.headers.get('x-ratelimit-remaining-requests'), '49');
    const refusal = async (extra: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming>, code: string) => {
      let caught: unknown;
      await ask(keys.gamma!, extra).catch((err) => (caught = err));
      assert.ok(caught instanceof OpenAI.RateLimitError, `expected a 429 (${code}), got ${String(caught)}`);
      assert.equal(caught.code, code);
      const headers = caught.headers!;
      assert.equal(headers.get('x-ratelimit-limit-requests'), '50', `${code}: ${JSON.stringify(Object.fromEntries(headers))}`);
      assert.equal(headers.get('x-ratelimit-limit-tokens'), '20000');
      const tokensLeft = Number(headers.get('x-ratelimit-remaining-tokens'));
      assert.ok(tokensLeft > 15_000 && tokensLeft < 20_000, `${code}: ${tokensLeft} tokens left after one small call`);
      assert.ok(headers.get('x-ratelimit-reset-requests') && headers.get('x-ratelimit-reset-tokens'), `${code}: reset headers`);
      return headers.get('x-ratelimit-remaining-requests');
    };
    // More tokens than a minute allows, then more than the day's budget: refused, and the headers show nothing taken.
    assert.equal(await refusal({ max_tokens: 30_000 }, 'rate_limit_exceeded'), '49');
    assert.equal(await refusal({ max_tokens: 4000 }, 'budget_exceeded'), '49');
    const stream = await client(keys.gamma!).chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'A long tale' }],
      max_tokens: 200,
      stream: true,
      ignore_eos: true,
    } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
    assert.equal(await refusal({}, 'concurrency_limit_exceeded'), '48', 'the running stream counts, the refused call does not');
    for await (const _ of stream) {
      /* drain */
    }
  });

  it("holds a key to its own limits on top of its tenant's", async () => {
    const { response } = await ask(keys.soloLimited!);
    assert.equal(response.headers.get('x-ratelimit-limit-requests'), '1');
    await assert.rejects(
      ask(keys.soloLimited!),
      (err) => err instanceof OpenAI.RateLimitError && /API key '[0-9a-f]{12}': 1 requests per minute/.test(err.message),
    );
    const { data } = await ask(keys.solo!);
    assert.equal(data.object, 'chat.completion', "the tenant's other key is not limited");
  });

  it('lets only admin keys use the admin API: 401 without a key, 403 with an inference key', async () => {
    assert.equal((await admin('GET', '/admin/tenants', undefined)).statusCode, 401);
    const forbidden = await admin('GET', '/admin/tenants', keys.acme);
    assert.equal(forbidden.statusCode, 403);
    assert.equal(((await forbidden.body.json()) as { error: { code: string } }).error.code, 'insufficient_scope');
    const ok = await admin('GET', '/admin/tenants', keys.ops);
    assert.equal(ok.statusCode, 200);
    const ids = ((await ok.body.json()) as { data: { id: string }[] }).data.map((t) => t.id);
    assert.deepEqual(
      ids.filter((id) => ['acme', 'beta', 'ops'].includes(id)),
      ['acme', 'beta', 'ops'],
    );
    // An admin key cannot be used for inference unless it was given that scope too.
    await assert.rejects(ask(keys.ops!), (err) => err instanceof OpenAI.PermissionDeniedError);
  });

  it('creates and revokes keys through the admin API; a revoked key is refused at once', async () => {
    const created = await admin('POST', '/admin/keys', keys.ops, { tenant: 'beta', name: 'ci' });
    assert.equal(created.statusCode, 201);
    const { id, key } = (await created.body.json()) as { id: string; key: string };
    const listed = (await (await admin('GET', '/admin/keys?tenant=beta', keys.ops)).body.json()) as { data: Record<string, unknown>[] };
    assert.ok(
      listed.data.some((k) => k.id === id),
      'listed.data.some((k) => k.id === id)',
    );
    assert.ok(
      listed.data.every((k) => !('key' in k) && !('hash' in k)),
      'keys are never listed',
    );
    assert.equal((await admin('GET', '/v1/models', key)).statusCode, 200);
    assert.equal((await admin('DELETE', `/admin/keys/${id}`, keys.ops)).statusCode, 200);
    const refused = await admin('GET', '/v1/models', key);
    assert.equal(refused.statusCode, 401);
    assert.match(((await refused.body.json()) as { error: { message: string } }).error.message, /revoked/);
  });

  it('creates the tenant of a key made through the admin API, as the CLI does', async () => {
    const created = await admin('POST', '/admin/keys', keys.ops, { tenant: 'newco', name: 'first key' });
    const body = (await created.body.json()) as { key: string; tenant: string };
    assert.equal(created.statusCode, 201, JSON.stringify(body));
    const { key, tenant } = body;
    assert.equal(tenant, 'newco');
    const tenants = ((await (await admin('GET', '/admin/tenants', keys.ops)).body.json()) as { data: { id: string; limits: object }[] }).data;
    assert.deepEqual(tenants.find((t) => t.id === 'newco')?.limits, {}, 'the new tenant has no limits');
    const { data } = await ask(key);
    assert.equal(data.object, 'chat.completion');
    const bad = await admin('POST', '/admin/keys', keys.ops, { tenant: 'no spaces allowed' });
    assert.equal(bad.statusCode, 400);
    assert.equal(((await bad.body.json()) as { error: { param: string } }).error.param, 'tenant');
  });

  it('keeps a ledger: usage by tenant, refusals included, and a CSV export', async () => {
    const res = await admin('GET', '/admin/usage?group_by=tenant,status', keys.ops);
    assert.equal(res.statusCode, 200);
    const rows = ((await res.body.json()) as { data: { tenant: string; status: number; requests: number; total_tokens: number }[] }).data;
    const acmeOk = rows.find((r) => r.tenant === 'acme' && r.status === 200);
    const acmeRefused = rows.find((r) => r.tenant === 'acme' && r.status === 429);
    assert.ok(acmeOk && acmeOk.requests >= 4 && acmeOk.total_tokens > 0, JSON.stringify(rows));
    assert.ok(acmeRefused && acmeRefused.requests >= 1, JSON.stringify(rows));
    const csv = await (await admin('GET', '/admin/usage?format=csv&tenant=beta', keys.ops)).body.text();
    const [header, ...lines] = csv.trim().split('\n');
    assert.equal(header, 'time,request_id,tenant,key_id,model,replica,prompt_tokens,completion_tokens,cached_tokens,status,latency_ms,cache_hit');
    assert.ok(lines.length >= 2 && lines.every((l) => l.split(',')[2] === 'beta'), "lines.length >= 2 && lines.every((l) => l.split(',')[2] === 'beta')");
  });

  it('caches deterministic answers per tenant: a hit for the same tenant, a miss for another', async () => {
    const params = { messages: [{ role: 'user' as const, content: 'The cat sat' }], temperature: 0, max_tokens: 12 };
    await admin('PUT', '/admin/tenants/acme', keys.ops, { limits: {} });
    const first = await ask(keys.acme!, params);
    const second = await ask(keys.acme!, params);
    const other = await ask(keys.solo!, params);
    assert.equal(first.response.headers.get('x-autoglm-cache'), 'miss');
    assert.equal(second.response.headers.get('x-autoglm-cache'), 'hit');
    assert.equal(second.data.choices[0]!.message.content, first.data.choices[0]!.message.content);
    assert.equal(other.response.headers.get('x-autoglm-cache'), 'miss');
    const random = await ask(keys.acme!, { ...params, temperature: 0.9 });
    assert.equal(random.response.headers.get('x-autoglm-cache'), null, 'a sampled answer is not cached');
  });

  it('replays a cached stream as the same stream of chunks', async () => {
    const deltas = async () => {
      const { data: stream, response } = await client(keys.acme!)
        .chat.completions.create({ model, messages: [{ role: 'user', content: 'A dog ran' }], seed: 42, max_tokens: 16, stream: true })
        .withResponse();
      const parts: string[] = [];
      for await (const chunk of stream) parts.push(chunk.choices[0]?.delta.content ?? `<${chunk.choices[0]?.finish_reason}>`);
      return { parts, cache: response.headers.get('x-autoglm-cache') };
    };
    const live = await deltas();
    const replay = await deltas();
    assert.equal(live.cache, 'miss');
    assert.equal(replay.cache, 'hit');
    assert.ok(live.parts.length > 3, 'live.parts.length > 3');
    assert.deepEqual(replay.parts, live.parts);
  });
});
