// Anthropic's Messages API through the gateway to `sim` replicas, with @anthropic-ai/sdk unchanged: create, stream,
// a tool-use loop, countTokens (an estimate there, and said to be), typed errors with auth and limits on, and model
// aliases, which every dialect resolves.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { storiesPath } from '../support/server.js';

const weather: Anthropic.Tool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['city', 'unit'],
  },
};
const question: Anthropic.MessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];

describe('Anthropic Messages through the gateway', () => {
  let gateway: GatewayServer;
  const keys: Record<string, string> = {};
  const anthropic = (key: string) => new Anthropic({ baseURL: gateway.url, apiKey: key, maxRetries: 0, timeout: 20_000 });

  before(async () => {
    const yaml = [
      'auth: { enabled: true }',
      'tenants:',
      '  acme: {}',
      '  tight: { limits: { requestsPerMinute: 1 } }',
      '  agents: { limits: { models: [agent] } }',
      'models:',
      '  agent:',
      '    replicas: [{ type: sim, preset: instant, outputTokens: 6, seed: 3 }]',
      '  story:',
      `    replicas: [{ type: llama, model: "${storiesPath}", threads: 1 }]`,
      'aliases:',
      '  claude-sonnet-4: agent',
    ].join('\n');
    gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0 } });
    for (const tenant of ['acme', 'tight', 'agents']) keys[tenant] = gateway.tenancy.store.createKey({ tenant, scopes: ['inference'] }).key;
  });
  after(() => gateway?.close());

  it('messages.create and messages.stream answer with the x-api-key the SDK sends', async () => {
    const client = anthropic(keys.acme!);
    const message = await client.messages.create({ model: 'agent', max_tokens: 16, messages: [{ role: 'user', content: 'Hello' }] });
    assert.equal(message.model, 'agent');
    assert.equal(message.content[0]?.type, 'text');
    assert.equal(message.usage.output_tokens, 6);
    assert.equal(message.stop_reason, 'end_turn');
    const stream = client.messages.stream({ model: 'agent', max_tokens: 16, messages: [{ role: 'user', content: 'Hello' }] });
    let text = '';
    stream.on('text', (d) => (text += d));
    const final = await stream.finalMessage();
    assert.equal(final.content[0]?.type === 'text' && final.content[0].text, text);
    assert.equal(final.usage.output_tokens, 6);
    assert.ok(final.usage.input_tokens > 0, 'the prompt is counted at the end of the stream');
  });

  it('a tool-use loop, streamed: the call, its tool_result, then the answer', async () => {
    const client = anthropic(keys.acme!);
    const messages = [...question];
    const first = await client.messages.stream({ model: 'agent', max_tokens: 64, messages, tools: [weather] }).finalMessage();
    assert.equal(first.stop_reason, 'tool_use');
    const use = first.content.find((b) => b.type === 'tool_use');
    assert.ok(use && use.type === 'tool_use', `a tool_use block in ${JSON.stringify(first.content)}`);
    assert.match(use.id, /^toolu_/);
    assert.equal(use.name, 'get_weather');
    const input = use.input as { city: unknown; unit: unknown };
    assert.equal(typeof input.city, 'string');
    assert.ok(['celsius', 'fahrenheit'].includes(String(input.unit)), `unit ${String(input.unit)}`);
    messages.push({ role: 'assistant', content: first.content });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '21 degrees' }] });
    const second = await client.messages.create({ model: 'agent', max_tokens: 64, messages, tools: [weather] });
    assert.equal(second.stop_reason, 'end_turn');
    assert.equal(second.content[0]?.type, 'text');
  });

  it('tool_choice any and a named tool both call it; none answers in text', async () => {
    const client = anthropic(keys.acme!);
    for (const tool_choice of [{ type: 'any' }, { type: 'tool', name: 'get_weather' }] as const) {
      const message = await client.messages.create({ model: 'agent', max_tokens: 64, messages: question, tools: [weather], tool_choice });
      assert.equal(message.stop_reason, 'tool_use', tool_choice.type);
    }
    const none = await client.messages.create({ model: 'agent', max_tokens: 64, messages: question, tools: [weather], tool_choice: { type: 'none' } });
    assert.equal(none.stop_reason, 'end_turn');
  });

  it('image blocks reach the model as images: base64 as a data URL, and a url source', async () => {
    const client = anthropic(keys.acme!);
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
    const text = await client.messages.create({ model: 'agent', max_tokens: 4, messages: [{ role: 'user', content: 'What is this?' }] });
    for (const source of [
      { type: 'base64', media_type: 'image/png', data: png },
      { type: 'url', url: 'https://example.com/cat.png' },
    ] as const) {
      const message = await client.messages.create({
        model: 'agent',
        max_tokens: 4,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source },
              { type: 'text', text: 'What is this?' },
            ],
          },
        ],
      });
      // The simulator charges an image 256 prompt tokens.
      assert.ok(message.usage.input_tokens >= text.usage.input_tokens + 256, `${source.type}: ${message.usage.input_tokens} vs ${text.usage.input_tokens}`);
    }
  });

  it('messages.countTokens: sim replicas cannot count, so the answer is an estimate and says so', async () => {
    const client = anthropic(keys.acme!);
    const { data, response } = await client.messages.countTokens({ model: 'agent', messages: question, tools: [weather] }).withResponse();
    assert.equal(response.headers.get('x-autoglm-token-count'), 'estimate');
    const bare = await client.messages.countTokens({ model: 'agent', messages: question });
    assert.ok(bare.input_tokens > 0, 'the prompt is counted');
    assert.ok(data.input_tokens > bare.input_tokens, 'tools count too');
  });

  it('messages.countTokens on a pool of llama replicas is their own count, the prompt tokens a call reports', async () => {
    const client = anthropic(keys.acme!);
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Once upon a time' }];
    const { data, response } = await client.messages.countTokens({ model: 'story', messages }).withResponse();
    assert.equal(response.headers.get('x-autoglm-token-count'), 'exact');
    const message = await client.messages.create({ model: 'story', max_tokens: 1, messages });
    assert.equal(data.input_tokens, message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0));
  });

  it('typed errors: AuthenticationError, NotFoundError, BadRequestError, RateLimitError with retry-after', async () => {
    await assert.rejects(anthropic('sk-not-a-key').messages.create({ model: 'agent', max_tokens: 8, messages: question }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.AuthenticationError, `AuthenticationError, got ${String(err)}`);
      assert.equal((err.error as { error: { type: string } }).error.type, 'authentication_error');
      return true;
    });
    await assert.rejects(
      anthropic('sk-not-a-key').messages.countTokens({ model: 'agent', messages: question }),
      (err: unknown) => err instanceof Anthropic.AuthenticationError,
    );
    await assert.rejects(anthropic(keys.acme!).messages.create({ model: 'claude-opus-4', max_tokens: 8, messages: question }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.NotFoundError, `NotFoundError, got ${String(err)}`);
      assert.match(err.message, /agent/, 'names what is served');
      return true;
    });
    await assert.rejects(anthropic(keys.acme!).messages.create({ model: 'agent', messages: question } as never), (err: unknown) => {
      assert.ok(err instanceof Anthropic.BadRequestError, `BadRequestError, got ${String(err)}`);
      assert.match(err.message, /max_tokens/);
      return true;
    });
    const tight = anthropic(keys.tight!);
    await tight.messages.create({ model: 'agent', max_tokens: 8, messages: question });
    await assert.rejects(tight.messages.create({ model: 'agent', max_tokens: 8, messages: question }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.RateLimitError, `RateLimitError, got ${String(err)}`);
      assert.equal((err.error as { error: { type: string } }).error.type, 'rate_limit_error');
      assert.ok(Number(err.headers?.get('retry-after')) > 0, 'retry-after');
      return true;
    });
  });

  it("a tenant's model list allows the aliases of the models it names, in every dialect and in /v1/models", async () => {
    const client = anthropic(keys.agents!);
    const message = await client.messages.create({ model: 'claude-sonnet-4', max_tokens: 8, messages: question });
    assert.equal(message.model, 'agent');
    assert.ok((await client.messages.countTokens({ model: 'claude-sonnet-4', messages: question })).input_tokens > 0, 'the alias is counted');
    await assert.rejects(client.messages.create({ model: 'story', max_tokens: 8, messages: question }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.PermissionDeniedError, `PermissionDeniedError, got ${String(err)}`);
      assert.match(err.message, /may not use the model 'story'\. Allowed: agent/);
      return true;
    });
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: keys.agents!, maxRetries: 0, timeout: 20_000 });
    const chat = await openai.chat.completions.create({ model: 'claude-sonnet-4', max_tokens: 8, messages: [{ role: 'user', content: 'Hello' }] });
    assert.equal(chat.model, 'agent');
    const listed = (await openai.models.list()).data.map((m) => m.id).sort();
    assert.deepEqual(listed, ['agent', 'claude-sonnet-4'], 'what the tenant may use, its alias included');
  });

  it('an alias is served under the name the client asked for, in every dialect, and answers as its target', async () => {
    const message = await anthropic(keys.acme!).messages.create({ model: 'claude-sonnet-4', max_tokens: 8, messages: question });
    assert.equal(message.model, 'agent');
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: keys.acme!, maxRetries: 0, timeout: 20_000 });
    const chat = await openai.chat.completions.create({ model: 'claude-sonnet-4', max_tokens: 8, messages: [{ role: 'user', content: 'Hello' }] });
    assert.equal(chat.model, 'agent');
    const listed = await openai.models.list();
    assert.ok(
      listed.data.some((m) => m.id === 'claude-sonnet-4'),
      'the alias is listed',
    );
  });
});
