// Anthropic's Messages API on the embedded engine (stories260K), called with @anthropic-ai/sdk as its users call it:
// create, stream (text and tool use), a tool-use loop over tool_result, countTokens, and typed errors.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { serveModel, type RunningServer } from '../../src/server/index.js';
import { startServer, testPaths } from '../support/server.js';

const weather: Anthropic.Tool = {
  name: 'get_weather',
  description: 'The weather in a city',
  // A bound on the string keeps a tiny model's arguments within max_tokens.
  input_schema: { type: 'object', properties: { city: { type: 'string', maxLength: 24 } }, required: ['city'] },
};
const story: Anthropic.MessageParam[] = [{ role: 'user', content: 'Once upon a time' }];

describe('Anthropic Messages on the embedded engine', () => {
  let server: RunningServer;
  let client: Anthropic;
  before(async () => {
    server = await startServer();
    client = new Anthropic({ baseURL: server.url, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
  });
  after(() => server?.close());

  it('messages.create answers a Message with text, the stop reason and usage', async () => {
    const message = await client.messages.create({ model: 'stories260K', max_tokens: 8, messages: story });
    assert.match(message.id, /^msg_/);
    assert.equal(message.type, 'message');
    assert.equal(message.role, 'assistant');
    assert.equal(message.model, 'stories260K');
    assert.equal(message.content[0]?.type, 'text');
    assert.ok(['end_turn', 'max_tokens'].includes(message.stop_reason ?? ''), `stop_reason ${message.stop_reason}`);
    assert.equal(message.stop_sequence, null);
    assert.ok(message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0) > 0, 'the prompt is counted');
    assert.ok(message.usage.output_tokens > 0 && message.usage.output_tokens <= 8, `output_tokens ${message.usage.output_tokens}`);
    assert.equal(message.usage.cache_creation_input_tokens, 0);
  });

  it('max_tokens reached is stop_reason max_tokens', async () => {
    // The SDK's types no longer list the sampling fields; the API (and this server) still take them.
    const sampling = { temperature: 0, top_k: 1 } as object;
    const message = await client.messages.create({ model: 'stories260K', max_tokens: 2, messages: story, ...sampling });
    assert.equal(message.stop_reason, 'max_tokens');
    assert.equal(message.usage.output_tokens, 2);
  });

  it('a system prompt in text blocks, stop_sequences, top_p and metadata are taken', async () => {
    const message = await client.messages.create({
      model: 'stories260K',
      max_tokens: 8,
      system: [{ type: 'text', text: 'Tell a story.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Once upon a time' }] }],
      stop_sequences: ['\n\n'],
      ...({ top_p: 0.9 } as object),
      metadata: { user_id: 'u-1' },
    });
    assert.equal(message.content[0]?.type, 'text');
  });

  it('messages.stream: finalMessage gathers the text the events carried', async () => {
    const stream = client.messages.stream({ model: 'stories260K', max_tokens: 8, messages: story });
    let streamed = '';
    stream.on('text', (delta) => (streamed += delta));
    const message = await stream.finalMessage();
    const text = message.content[0]?.type === 'text' ? message.content[0].text : undefined;
    assert.equal(text, streamed);
    assert.ok(streamed.length > 0, 'some text streamed');
    assert.ok(message.usage.output_tokens > 0, 'usage arrives with message_delta');
    assert.ok(message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0) > 0, 'the prompt is counted at the end');
    assert.ok(message.stop_reason, 'a stop reason');
  });

  // One call a turn: left free, this tiny model goes on making calls until max_tokens.
  it('tool use, whole: a tool_use block with a toolu_ id and an input object', async () => {
    const message = await client.messages.create({
      model: 'stories260K',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [weather],
      tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
    });
    assert.equal(message.stop_reason, 'tool_use');
    const use = message.content.find((b) => b.type === 'tool_use');
    assert.ok(use && use.type === 'tool_use', `a tool_use block in ${JSON.stringify(message.content)}`);
    assert.match(use.id, /^toolu_/);
    assert.equal(use.name, 'get_weather');
    assert.equal(typeof (use.input as { city?: unknown }).city, 'string');
  });

  it('tool use, streamed: finalMessage has the tool_use block built from input_json_delta', async () => {
    const stream = client.messages.stream({
      model: 'stories260K',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [weather],
      tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
    });
    let json = '';
    stream.on('inputJson', (partial) => (json += partial));
    const message = await stream.finalMessage();
    assert.equal(message.stop_reason, 'tool_use');
    const use = message.content.find((b) => b.type === 'tool_use');
    assert.ok(use && use.type === 'tool_use', `a tool_use block in ${JSON.stringify(message.content)}`);
    assert.match(use.id, /^toolu_/);
    assert.deepEqual(use.input, JSON.parse(json));
  });

  it('a tool-use loop: the tool_result goes back and the model answers', async () => {
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const first = await client.messages.create({
      model: 'stories260K',
      max_tokens: 200,
      messages,
      tools: [weather],
      tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
    });
    const use = first.content.find((b) => b.type === 'tool_use');
    assert.ok(use && use.type === 'tool_use', 'the model called the tool');
    messages.push({ role: 'assistant', content: first.content });
    messages.push({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: use.id, content: [{ type: 'text', text: '21 degrees' }] },
        { type: 'text', text: 'And now?' },
      ],
    });
    const second = await client.messages.create({ model: 'stories260K', max_tokens: 8, messages, tools: [weather], tool_choice: { type: 'none' } });
    assert.equal(second.content[0]?.type, 'text');
    assert.notEqual(second.stop_reason, 'tool_use');
    // The result was in the prompt: it costs more than the first turn did.
    const inputOf = (m: Anthropic.Message) => m.usage.input_tokens + (m.usage.cache_read_input_tokens ?? 0);
    assert.ok(inputOf(second) > inputOf(first), `${inputOf(second)} > ${inputOf(first)}`);
  });

  it("messages.countTokens counts with the model's own tokenizer, as many as a call's usage says", async () => {
    const counted = await client.messages.countTokens({ model: 'stories260K', messages: story });
    const message = await client.messages.create({ model: 'stories260K', max_tokens: 1, messages: story });
    assert.equal(counted.input_tokens, message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0));
    const raw = await client.messages.countTokens({ model: 'stories260K', messages: story }).asResponse();
    assert.equal(raw.headers.get('x-autoglm-token-count'), 'exact');
  });

  it('typed errors: NotFoundError names the served models, BadRequestError names the field', async () => {
    await assert.rejects(client.messages.create({ model: 'claude-sonnet-4', max_tokens: 8, messages: story }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.NotFoundError, `NotFoundError, got ${String(err)}`);
      assert.equal((err.error as { error: { type: string } }).error.type, 'not_found_error');
      assert.match(err.message, /stories260K/);
      return true;
    });
    await assert.rejects(
      client.messages.create({ model: 'stories260K', max_tokens: 8, messages: story, thinking: { type: 'enabled', budget_tokens: 1024 } }),
      (err: unknown) => {
        assert.ok(err instanceof Anthropic.BadRequestError, `BadRequestError, got ${String(err)}`);
        assert.equal((err.error as { error: { type: string } }).error.type, 'invalid_request_error');
        assert.match(err.message, /thinking/);
        return true;
      },
    );
    const image = { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } } as const;
    await assert.rejects(client.messages.create({ model: 'stories260K', max_tokens: 8, messages: [{ role: 'user', content: [image] }] }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.BadRequestError, `BadRequestError, got ${String(err)}`);
      assert.match(err.message, /cannot read images/);
      return true;
    });
    await assert.rejects(client.messages.countTokens({ model: 'nope', messages: story }), (err: unknown) => err instanceof Anthropic.NotFoundError);
  });
});

describe('Anthropic Messages on the embedded engine with keys and limits', () => {
  let server: RunningServer;
  const keys: Record<string, string> = {};
  const client = (key: string) => new Anthropic({ baseURL: server.url, apiKey: key, maxRetries: 0, timeout: 60_000 });
  before(async () => {
    server = await serveModel({
      engine: { model: 'stories260K', threads: 1 },
      server: { port: 0 },
      paths: testPaths(),
      tenancy: { auth: { enabled: true }, database: ':memory:', tenants: { acme: {}, tight: { limits: { requestsPerMinute: 1 } } } },
    });
    for (const tenant of ['acme', 'tight']) keys[tenant] = server.tenancy.store.createKey({ tenant, scopes: ['inference'] }).key;
  });
  after(() => server?.close());

  it('the key the SDK sends as x-api-key is taken; a wrong one is AuthenticationError', async () => {
    const message = await client(keys.acme!).messages.create({ model: 'stories260K', max_tokens: 4, messages: story });
    assert.equal(message.type, 'message');
    await assert.rejects(client('sk-wrong').messages.create({ model: 'stories260K', max_tokens: 4, messages: story }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.AuthenticationError, `AuthenticationError, got ${String(err)}`);
      assert.equal((err.error as { error: { type: string } }).error.type, 'authentication_error');
      return true;
    });
  });

  it("a tenant past its rate limit gets RateLimitError with Anthropic's body and retry-after", async () => {
    const tight = client(keys.tight!);
    await tight.messages.create({ model: 'stories260K', max_tokens: 4, messages: story });
    await assert.rejects(tight.messages.create({ model: 'stories260K', max_tokens: 4, messages: story }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.RateLimitError, `RateLimitError, got ${String(err)}`);
      assert.equal((err.error as { error: { type: string } }).error.type, 'rate_limit_error');
      assert.ok(Number(err.headers?.get('retry-after')) > 0, 'retry-after');
      return true;
    });
  });
});
