// A reasoned request's token budget pays for each call's whole prompt (the strategy's instructions and the chat
// template included), counted by the model's own tokenizer: on the real embedded model, sc@8 stays within its budget,
// and through a gateway with releases whose llama pool counts for it; a budget too small for one call says how many tokens one call's prompt takes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, serveModel, type GatewayServer, type RunningServer } from '../../src/server/index.js';
import { storiesPath, testPaths } from '../support/server.js';

type WithBudget = OpenAI.Chat.ChatCompletion & { reasoning?: { calls: number; budget: { tokens: number; used: number; exhausted: boolean } } };

describe('reasoning budgets count the real prompts', () => {
  let server: RunningServer;
  let client: OpenAI;

  before(async () => {
    server = await serveModel({ engine: { model: 'stories260K', threads: 1, parallel: 4 }, server: { port: 0 }, paths: testPaths() });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 300_000 });
  });

  after(async () => {
    await server?.close();
  });

  it('keeps sc@8 within budget_tokens 2000', async () => {
    const res = (await client.chat.completions.create({
      model: 'sc@8:stories260K',
      messages: [{ role: 'user', content: 'What is 2+3?' }],
      seed: 5,
      reasoning: { budget_tokens: 2000 },
    } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)) as WithBudget;
    const budget = res.reasoning!.budget;
    assert.equal(budget.tokens, 2000);
    assert.ok(budget.used <= 2000, `used ${budget.used} of 2000 tokens in ${res.reasoning!.calls} calls`);
    assert.ok(res.usage!.prompt_tokens + res.usage!.completion_tokens <= 2000, `usage ${JSON.stringify(res.usage)}`);
    assert.ok(res.choices[0]!.message.content!.length > 0, 'an answer');
  });

  it('refuses a budget smaller than one call with the size of that call', async () => {
    const err = await client.chat.completions
      .create({
        model: 'sc@8:stories260K',
        messages: [{ role: 'user', content: 'What is 2+3?' }],
        reasoning: { budget_tokens: 50 },
      } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof OpenAI.APIError, `an API error, got ${String(err)}`);
    assert.equal(err.status, 400);
    const said = Number(/about (\d+) tokens/.exec(err.message)?.[1]);
    assert.ok(said > 50, `the message names a prompt larger than the budget: ${err.message}`);
    // The prompt named is the one a sample really sends, the strategy's instructions and the template included.
    const one = await client.chat.completions.create({
      model: 'sc@1:stories260K',
      messages: [{ role: 'user', content: 'What is 2+3?' }],
      max_tokens: 16,
      reasoning: { budget_tokens: 2000 },
    } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    assert.equal(said, one.usage!.prompt_tokens, err.message);
  });
});

describe('reasoning budgets on a gateway llama pool', () => {
  let gateway: GatewayServer;

  before(async () => {
    const config = `
models:
  local-small: { replicas: [{ type: llama, model: ${storiesPath}, threads: 1, parallel: 4 }] }
  chat@v1: { replicas: [{ type: sim, preset: instant, outputTokens: 4 }] }
releases:
  chat: { stable: v1 }
`;
    gateway = await serveGateway(parseGatewayConfig(config), { serverOverrides: { port: 0 } });
  });

  after(async () => {
    await gateway?.close();
  });

  it('keeps sc@8:local-small within budget_tokens 2000', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 300_000 });
    const res = (await client.chat.completions.create({
      model: 'sc@8:local-small',
      messages: [{ role: 'user', content: 'What is 2+3?' }],
      seed: 5,
      reasoning: { budget_tokens: 2000 },
    } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)) as WithBudget;
    const budget = res.reasoning!.budget;
    assert.ok(budget.used <= 2000, `used ${budget.used} of 2000 tokens in ${res.reasoning!.calls} calls`);
    assert.ok(res.choices[0]!.message.content!.length > 0, 'an answer');
  });
});
