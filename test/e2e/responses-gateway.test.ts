// OpenAI's Responses API through the gateway to `sim` replicas, with auth on and two tenants, through the official
// openai SDK unchanged: whole and streamed answers, an agent's function-tool loop, conversations by
// previous_response_id, retrieve and delete, and stored responses that never cross tenants.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import type { ResponseFunctionToolCall, ResponseInputItem } from 'openai/resources/responses/responses';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
};

describe('Responses API through the gateway, two tenants', () => {
  let gateway: GatewayServer;
  let acme: OpenAI;
  let beta: OpenAI;
  const client = (key: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0, timeout: 20_000 });
  before(async () => {
    const yaml = [
      'auth: { enabled: true }',
      "database: ':memory:'",
      'tenants: { acme: {}, beta: {}, tight: { limits: { requestsPerMinute: 1 } } }',
      'models:',
      '  agent:',
      '    replicas: [{ type: sim, preset: instant, outputTokens: 6, seed: 3 }, { type: sim, preset: instant, outputTokens: 6, seed: 4 }]',
    ].join('\n');
    gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0 } });
    acme = client(gateway.tenancy.store.createKey({ tenant: 'acme', scopes: ['inference'] }).key);
    beta = client(gateway.tenancy.store.createKey({ tenant: 'beta', scopes: ['inference'] }).key);
  });
  after(() => gateway?.close());

  it('answers whole and streamed, and finalResponse() is what GET returns', async () => {
    const whole = await acme.responses.create({ model: 'agent', input: 'Hello there', max_output_tokens: 16 });
    assert.equal(whole.status, 'completed');
    assert.equal(whole.model, 'agent');
    assert.ok(whole.output_text.length > 0, 'the sim answers in text');
    assert.equal(whole.usage?.output_tokens, 6);

    const stream = acme.responses.stream({ model: 'agent', input: 'Hello there' });
    let text = '';
    stream.on('response.output_text.delta', (e) => (text += e.delta));
    const final = await stream.finalResponse();
    assert.equal(final.status, 'completed');
    assert.equal(final.output_text, text);
    const stored = await acme.responses.retrieve(final.id);
    assert.equal(stored.output_text, final.output_text);
    assert.deepEqual(stored.usage, final.usage);

    const events = await acme.responses.create({ model: 'agent', input: 'Hi', stream: true });
    const types: string[] = [];
    for await (const e of events) types.push(e.type);
    assert.deepEqual([types[0], types[1], types.at(-1)], ['response.created', 'response.in_progress', 'response.completed']);
  });

  it("runs an agent's function-tool loop: the sim calls the tool, gets its output, and answers in text", async () => {
    const calledWith: unknown[] = [];
    let input: ResponseInputItem[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
    let previous: string | undefined;
    let answer = '';
    for (let round = 0; round < 4 && !answer; round++) {
      const res = await acme.responses.create({ model: 'agent', input, tools: [weatherTool], ...(previous && { previous_response_id: previous }) });
      const calls = res.output.filter((o): o is ResponseFunctionToolCall => o.type === 'function_call');
      if (calls.length === 0) answer = res.output_text;
      input = calls.map((c) => {
        calledWith.push(JSON.parse(c.arguments));
        return { type: 'function_call_output' as const, call_id: c.call_id, output: JSON.stringify({ temperature: 21 }) };
      });
      previous = res.id;
    }
    assert.equal(calledWith.length, 1, 'one call, then the answer');
    assert.equal(typeof (calledWith[0] as { city: unknown }).city, 'string');
    assert.ok(answer.length > 0, 'the loop ends on a text answer');
  });

  it('streams a function call the SDK assembles', async () => {
    const stream = acme.responses.stream({ model: 'agent', input: 'Weather?', tools: [weatherTool], tool_choice: 'required' });
    const types: string[] = [];
    stream.on('event', (e) => types.push(e.type));
    const final = await stream.finalResponse();
    const call = final.output.find((o) => o.type === 'function_call');
    assert.ok(call?.type === 'function_call' && call.name === 'get_weather', 'the call is assembled');
    assert.equal(typeof (JSON.parse(call.arguments) as { city: unknown }).city, 'string', 'its arguments fit the schema');
    assert.ok(types.includes('response.function_call_arguments.done'), 'arguments.done was sent');
  });

  it('passes input_image parts on as images: the sim reads the image as part of the prompt', async () => {
    const image = `data:image/png;base64,${Buffer.from('not really a png').toString('base64')}`;
    const text = { type: 'input_text' as const, text: 'What is this?' };
    const withImage = await acme.responses.create({
      model: 'agent',
      store: false,
      input: [{ role: 'user', content: [text, { type: 'input_image', image_url: image, detail: 'low' }] }],
    });
    const without = await acme.responses.create({ model: 'agent', store: false, input: [{ role: 'user', content: [text] }] });
    assert.equal(withImage.status, 'completed');
    assert.ok(withImage.usage!.input_tokens > without.usage!.input_tokens, 'the image is in the prompt');
  });

  it('continues a conversation by previous_response_id, the earlier turns in the prompt', async () => {
    const first = await acme.responses.create({ model: 'agent', input: 'Tell me about cats.' });
    const second = await acme.responses.create({ model: 'agent', previous_response_id: first.id, input: 'And dogs?' });
    const alone = await acme.responses.create({ model: 'agent', input: 'And dogs?', store: false });
    assert.ok(second.usage!.input_tokens > alone.usage!.input_tokens, `continued ${second.usage!.input_tokens} > alone ${alone.usage!.input_tokens}`);
    assert.equal(second.previous_response_id, first.id);
  });

  it("keeps each tenant's responses its own: another tenant's id is a 404 to read or delete, a 400 to continue", async () => {
    const mine = await acme.responses.create({ model: 'agent', input: 'A secret' });
    await assert.rejects(beta.responses.retrieve(mine.id), (e: unknown) => e instanceof OpenAI.NotFoundError && !JSON.stringify(e).includes(mine.output_text));
    await assert.rejects(beta.responses.delete(mine.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
    await assert.rejects(beta.responses.inputItems.list(mine.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
    await assert.rejects(
      beta.responses.create({ model: 'agent', previous_response_id: mine.id, input: 'What was it?' }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === 'previous_response_not_found',
    );
    assert.equal((await acme.responses.retrieve(mine.id)).output_text, mine.output_text, "the owner still reads it after the other tenant's tries");
    await acme.responses.delete(mine.id);
    await assert.rejects(acme.responses.retrieve(mine.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
  });

  it('refuses GET and DELETE without a key: 401 in OpenAI shape', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${gateway.url}/v1/responses/resp_x`, { method });
      assert.equal(res.status, 401);
      const body = (await res.json()) as { error: Record<string, unknown> };
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
    }
    const post = await fetch(`${gateway.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"agent","input":"x"}',
    });
    assert.equal(post.status, 401);
  });

  it("answers a tenant past its limit with 429 in OpenAI's shape and Retry-After, before any stream begins", async () => {
    const key = gateway.tenancy.store.createKey({ tenant: 'tight', scopes: ['inference'] }).key;
    const post = () =>
      fetch(`${gateway.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: '{"model":"agent","input":"x","stream":true}',
      });
    const first = await post();
    assert.equal(first.status, 200);
    await first.text();
    const second = await post();
    assert.equal(second.status, 429);
    assert.ok(Number(second.headers.get('retry-after')) > 0, 'Retry-After says when to come back');
    const error = ((await second.json()) as { error: Record<string, unknown> }).error;
    assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(error.type, 'rate_limit_error');
  });

  it('refuses a key without the inference scope: 403 in OpenAI shape, on POST, GET and DELETE', async () => {
    const admin = gateway.tenancy.store.createKey({ tenant: 'acme', scopes: ['admin'] }).key;
    for (const [method, path, body] of [
      ['POST', '/v1/responses', '{"model":"agent","input":"x"}'],
      ['GET', '/v1/responses/resp_x', undefined],
      ['DELETE', '/v1/responses/resp_x', undefined],
    ] as const) {
      const headers = { authorization: `Bearer ${admin}`, ...(body && { 'content-type': 'application/json' }) };
      const res = await fetch(`${gateway.url}${path}`, { method, headers, body });
      assert.equal(res.status, 403, `${method} ${path}`);
      const error = ((await res.json()) as { error: { code: string; type: string } }).error;
      assert.deepEqual([error.type, error.code], ['permission_error', 'insufficient_scope']);
    }
  });
});
