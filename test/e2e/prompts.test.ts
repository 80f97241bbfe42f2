// Managed prompts through the API as users call it: by name, by version and by a model's default, created and
// versioned by the admin API per tenant, with feedback on answers; bad input gets 400s that name the field.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { loadDataset } from '../../src/datasets/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { storiesPath } from '../support/server.js';

const database = join(mkdtempSync(join(tmpdir(), 'autoglm-prompts-')), 'prompts.db');
const question = loadDataset('gsm8k')[0]!.question;

type Params = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming & { reasoning?: { prompt?: string; strategy?: string } };

describe('managed prompts', () => {
  let gateway: GatewayServer;
  const keys: Record<string, string> = {};
  const client = (tenant: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: keys[tenant]!, maxRetries: 0, timeout: 30_000 });
  const ask = (tenant: string, params: Partial<Params>) =>
    client(tenant)
      .chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: question }], seed: 7, ...params } as Params)
      .withResponse();
  const http = async (method: 'GET' | 'POST' | 'DELETE', path: string, tenant: string, body?: unknown) => {
    const res = await request(`${gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${keys[tenant]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: answers of several shapes are read field by field, as a user's script reads them
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
  };
  const refused = async (call: Promise<unknown>, status: number, param: string) => {
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof OpenAI.APIError, `expected a ${status} naming ${param}, got ${String(err)}`);
    assert.equal(err.status, status, err.message);
    assert.equal((err.error as { param?: string }).param, param, err.message);
    return err;
  };

  before(async () => {
    const yaml = [
      'auth: { enabled: true }',
      `database: ${JSON.stringify(database)}`,
      'tenants: { acme: {}, beta: {} }',
      'models:',
      '  chat:',
      '    prompt: gsm8k-solver',
      '    replicas: [{ type: sim, preset: instant, solver: { dataset: gsm8k, p: 0.5, promptSensitive: true } }]',
      '  local:',
      `    replicas: [{ type: llama, model: ${JSON.stringify(storiesPath)}, threads: 1 }]`,
      'prompts:',
      '  gsm8k-solver:',
      '    versions:',
      "      '1': { instructions: 'Solve the problem.' }",
      "      '2': { instructions: 'Solve the problem carefully.', format: \"End with 'The answer is X.'\", strategy: cot }",
    ].join('\n');
    gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0 } });
    for (const tenant of ['acme', 'beta']) keys[tenant] = gateway.tenancy.store.createKey({ tenant, scopes: ['inference', 'admin'] }).key;
  });

  after(async () => {
    await gateway?.close();
  });

  it("uses a model's default prompt, its latest version and the strategy it was tuned for", async () => {
    const { data, response } = await ask('acme', {});
    assert.equal(response.headers.get('x-autoglm-prompt'), 'gsm8k-solver@2');
    assert.equal((data as unknown as { reasoning: { strategy: string } }).reasoning.strategy, 'cot');
    assert.match(data.choices[0]!.message.content ?? '', /answer is/);
  });

  it('uses a prompt by name and by version; an unknown version or prompt is a 400 naming it', async () => {
    const v1 = await ask('acme', { reasoning: { prompt: 'gsm8k-solver@1' } });
    assert.equal(v1.response.headers.get('x-autoglm-prompt'), 'gsm8k-solver@1');
    assert.equal(v1.response.headers.get('x-autoglm-strategy'), null, 'version 1 names no strategy: a plain call');
    const err = await refused(ask('acme', { reasoning: { prompt: 'gsm8k-solver@9' } }), 400, 'reasoning.prompt');
    assert.match(err.message, /no version 9.*1, 2/);
    const unknown = await refused(ask('acme', { reasoning: { prompt: 'nope' } }), 400, 'reasoning.prompt');
    assert.match(unknown.message, /unknown prompt 'nope'/);
    await refused(ask('acme', { reasoning: { prompt: 'bad name!' } }), 400, 'reasoning.prompt');
  });

  it('renders the template into what the real engine receives', async () => {
    const plain = await client('acme').chat.completions.create({ model: 'local', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 4 });
    const created = await http('POST', '/admin/prompts', 'acme', {
      name: 'storyteller',
      instructions: 'You tell short stories about a little dog who lives by the sea and loves to play.',
      demos: [{ input: 'Tell me a story', answer: 'Once there was a dog named Max.' }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.version, 1);
    const { data, response } = await client('acme')
      .chat.completions.create({
        model: 'local',
        messages: [{ role: 'user', content: 'Once upon a time' }],
        max_tokens: 4,
        reasoning: { prompt: 'storyteller' },
      } as Params)
      .withResponse();
    assert.equal(response.headers.get('x-autoglm-prompt'), 'storyteller@1');
    assert.ok(
      data.usage!.prompt_tokens > plain.usage!.prompt_tokens + 20,
      `prompt tokens ${data.usage!.prompt_tokens} vs ${plain.usage!.prompt_tokens} without`,
    );
  });

  it("keeps each tenant's prompts to itself; the config's are everyone's", async () => {
    const made = await http('POST', '/admin/prompts', 'acme', { name: 'acme-only', instructions: 'Answer as acme does.' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const mine = await ask('acme', { model: 'chat', reasoning: { prompt: 'acme-only' } });
    assert.equal(mine.response.headers.get('x-autoglm-prompt'), 'acme-only@1');
    await refused(ask('beta', { reasoning: { prompt: 'acme-only' } }), 400, 'reasoning.prompt');
    const betaList = await http('GET', '/admin/prompts', 'beta');
    assert.deepEqual(
      betaList.body.data.map((p: { name: string; scope: string }) => `${p.name}:${p.scope}`),
      ['gsm8k-solver:global'],
    );
    const acmeList = await http('GET', '/admin/prompts', 'acme');
    assert.ok(
      acmeList.body.data.some((p: { name: string }) => p.name === 'acme-only'),
      JSON.stringify(acmeList.body),
    );
    assert.equal((await http('GET', '/admin/prompts/acme-only', 'beta')).status, 404);
    assert.equal((await http('DELETE', '/admin/prompts/acme-only', 'beta')).status, 404);
  });

  it('adds versions: the bare name gets the latest, an old one stays callable, and delete removes them', async () => {
    await http('POST', '/admin/prompts', 'acme', { name: 'versioned', instructions: 'First.' });
    const v2 = await http('POST', '/admin/prompts/versioned/versions', 'acme', { instructions: 'Second, step by step.', strategy: 'sc@3' });
    assert.equal(v2.status, 201, JSON.stringify(v2.body));
    assert.equal(v2.body.version, 2);
    const latest = await ask('acme', { reasoning: { prompt: 'versioned' } });
    assert.equal(latest.response.headers.get('x-autoglm-prompt'), 'versioned@2');
    assert.equal(latest.response.headers.get('x-autoglm-reasoning-calls'), '3', 'sc@3 draws three samples');
    const old = await ask('acme', { reasoning: { prompt: 'versioned@1' } });
    assert.equal(old.response.headers.get('x-autoglm-prompt'), 'versioned@1');
    const one = await http('GET', '/admin/prompts/versioned/versions/1', 'acme');
    assert.equal(one.body.instructions, 'First.');
    assert.equal((await http('GET', '/admin/prompts/versioned/versions/3', 'acme')).status, 404);
    const listed = await http('GET', '/admin/prompts/versioned', 'acme');
    assert.deepEqual(
      listed.body.data.map((p: { version: number }) => p.version),
      [1, 2],
    );
    const deleted = await http('DELETE', '/admin/prompts/versioned', 'acme');
    assert.equal(deleted.body.versions, 2);
    await refused(ask('acme', { reasoning: { prompt: 'versioned' } }), 400, 'reasoning.prompt');
  });

  it('refuses bad input to /admin/prompts with a 400 naming the field, and config prompts with a 409', async () => {
    const cases: [unknown, string][] = [
      [{ name: 'bad name!' }, 'name'],
      [{ instructions: 'no name' }, 'name'],
      [{ name: 'ok', demos: [{ input: 'q' }] }, 'demos[0].answer'],
      [{ name: 'ok', strategy: 'magic' }, 'strategy'],
      [{ name: 'ok', instructions: 7 }, 'instructions'],
    ];
    for (const [body, param] of cases) {
      const res = await http('POST', '/admin/prompts', 'acme', body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.param, param, JSON.stringify(res.body));
    }
    const unknownKey = await http('POST', '/admin/prompts', 'acme', { name: 'ok', colour: 'blue' });
    assert.equal(unknownKey.status, 400, JSON.stringify(unknownKey.body));
    assert.match(unknownKey.body.error.message, /colour/);
    const broken = await http('POST', '/admin/prompts', 'acme', '{"name":');
    assert.equal(broken.status, 400, JSON.stringify(broken.body));
    const global = await http('POST', '/admin/prompts', 'acme', { name: 'gsm8k-solver' });
    assert.equal(global.status, 409, JSON.stringify(global.body));
    assert.equal((await http('POST', '/admin/prompts/nothing/versions', 'acme', {})).status, 404);
  });

  it("takes feedback on a tenant's own requests only, and refuses bad feedback naming the field", async () => {
    const { response } = await ask('acme', {});
    const id = response.headers.get('x-request-id')!;
    assert.ok(id, 'x-request-id');
    const ok = await http('POST', '/v1/feedback', 'acme', { request_id: id, score: 1, label: 'correct' });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.prompt, 'gsm8k-solver@2');
    assert.equal((await http('POST', '/v1/feedback', 'beta', { request_id: id, score: 0 })).status, 404, "beta cannot score acme's request");
    assert.equal((await http('POST', '/v1/feedback', 'acme', { request_id: 'req_never', score: 0 })).status, 404);
    const cases: [unknown, string][] = [
      [{ request_id: id }, 'score'],
      [{ request_id: id, score: 2 }, 'score'],
      [{ request_id: id, score: 'good' }, 'score'],
      [{ score: 1 }, 'request_id'],
      [{ request_id: id, score: 1, label: 5 }, 'label'],
      [{ response_id: 'not-an-answer', score: 1 }, 'response_id'],
      [{ request_id: id, response_id: 'chatcmpl-1', score: 1 }, 'response_id'],
    ];
    for (const [body, param] of cases) {
      const res = await http('POST', '/v1/feedback', 'acme', body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.param, param, JSON.stringify(res.body));
    }
    const extra = await http('POST', '/v1/feedback', 'acme', { request_id: id, score: 1, extra: true });
    assert.equal(extra.status, 400, JSON.stringify(extra.body));
    assert.match(extra.body.error.message, /extra/);
    const arms = await http('GET', '/admin/prompts/gsm8k-solver/arms', 'acme');
    assert.equal(arms.status, 200, JSON.stringify(arms.body));
    const v2 = arms.body.arms.find((a: { version: number }) => a.version === 2);
    assert.ok(v2.served >= 1 && v2.feedback >= 1, JSON.stringify(arms.body));
  });

  it('takes feedback by the id of the answer, in every dialect, for the tenant that got it only', async () => {
    const whole = await ask('acme', {});
    const streamed = client('acme').chat.completions.stream({ model: 'chat', messages: [{ role: 'user', content: question }], seed: 8 });
    const streamedId = (await streamed.finalChatCompletion()).id;
    const response = await client('acme').responses.create({ model: 'chat', input: question });
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: keys.acme!, maxRetries: 0 });
    const message = await anthropic.messages.create({ model: 'chat', max_tokens: 64, messages: [{ role: 'user', content: question }] });
    for (const id of [whole.data.id, streamedId, response.id, message.id]) {
      assert.equal((await http('POST', '/v1/feedback', 'beta', { response_id: id, score: 1 })).status, 404, `beta cannot score acme's ${id}`);
      const ok = await http('POST', '/v1/feedback', 'acme', { response_id: id, score: 0.5 });
      assert.equal(ok.status, 201, `${id}: ${JSON.stringify(ok.body)}`);
      assert.equal(ok.body.response_id, id);
      assert.match(ok.body.request_id, /^req_/, `${id}: the request it answered`);
      assert.equal(ok.body.prompt, 'gsm8k-solver@2', `${id}: the model's default prompt answered`);
    }
    assert.equal(
      (await http('POST', '/v1/feedback', 'acme', { response_id: whole.data.id, score: 1 })).body.request_id,
      whole.response.headers.get('x-request-id'),
      "a completion's id and its x-request-id name the same request",
    );
    const missing = await http('POST', '/v1/feedback', 'acme', { response_id: 'chatcmpl-never', score: 1 });
    assert.equal(missing.status, 404, JSON.stringify(missing.body));
    assert.equal(missing.body.error.param, 'response_id');
  });

  it('takes feedback on a request no prompt served, by its request id or its answer, for its own tenant only', async () => {
    const local = { model: 'local', messages: [{ role: 'user' as const, content: 'Once upon a time' }], max_tokens: 8 };
    const whole = await client('acme').chat.completions.create(local).withResponse();
    assert.equal(whole.response.headers.get('x-autoglm-prompt'), null, 'no prompt served it');
    const streamed = await client('acme').chat.completions.stream(local).finalChatCompletion();
    const requestId = whole.response.headers.get('x-request-id')!;
    assert.equal((await http('POST', '/v1/feedback', 'beta', { request_id: requestId, score: 1 })).status, 404, "beta cannot score acme's request");
    const byRequest = await http('POST', '/v1/feedback', 'acme', { request_id: requestId, score: 1 });
    assert.equal(byRequest.status, 201, JSON.stringify(byRequest.body));
    assert.equal(byRequest.body.request_id, requestId);
    assert.equal(byRequest.body.prompt ?? null, null, JSON.stringify(byRequest.body));
    for (const id of [whole.data.id, streamed.id]) {
      assert.equal((await http('POST', '/v1/feedback', 'beta', { response_id: id, score: 1 })).status, 404, `beta cannot score acme's ${id}`);
      const ok = await http('POST', '/v1/feedback', 'acme', { response_id: id, score: 0 });
      assert.equal(ok.status, 201, `${id}: ${JSON.stringify(ok.body)}`);
      assert.match(ok.body.request_id, /^req_/, `${id}: the request it answered`);
    }
    assert.equal((await http('POST', '/v1/feedback', 'acme', { response_id: whole.data.id, score: 1 })).body.request_id, requestId);
  });
});
