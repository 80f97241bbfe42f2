// Function calling, images and log probabilities through the gateway: the official SDK's tool loop, streamed and whole,
// screenshots as image_url parts, and logprobs, against a real `autoglm sim` upstream (which calls tools, counts images
// and reports its word probabilities as vLLM would), and clear refusals where they cannot go.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import { request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { startSim, type CliProcess } from '../support/processes.js';
import { storiesPath } from '../support/server.js';

const weatherParameters = {
  type: 'object',
  properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
  required: ['city', 'unit'],
};
const weatherTool: ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'The weather in a city', parameters: weatherParameters },
};

describe('tool calls, images and logprobs through the gateway', () => {
  let sim: CliProcess & { url: string };
  let gateway: GatewayServer;
  let client: OpenAI;

  before(async () => {
    sim = await startSim(['--preset', 'instant', '--itl-ms', '1', '--output-tokens', '6', '--model', 'sim', '--port', '0', '--seed', '3']);
    const yaml = [
      'cache: { ttlSeconds: 60 }',
      'models:',
      '  agent:',
      `    replicas: [{ type: openai, preset: autoglm, baseUrl: "${sim.url}/v1", upstreamModel: sim }]`,
      '  local:',
      `    replicas: [{ type: llama, model: "${storiesPath}", threads: 1 }]`,
    ].join('\n');
    gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0 } });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 20_000 });
  });

  after(async () => {
    await gateway?.close();
    sim?.child.kill('SIGKILL');
  });

  it("runs the SDK's tool loop: the model calls the function, reads its result, and answers in text", async () => {
    const calledWith: unknown[] = [];
    const runner = client.chat.completions.runTools({
      model: 'agent',
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'The weather in a city',
            parameters: weatherParameters,
            parse: (text: string) => JSON.parse(text) as { city: string; unit: string },
            function: (args: { city: string; unit: string }) => {
              calledWith.push(args);
              return { temperature: 21 };
            },
          },
        },
      ],
    });
    const answer = await runner.finalContent();
    assert.deepEqual(calledWith, [{ city: 'sim', unit: 'celsius' }]);
    assert.ok(answer && answer.length > 0, 'the last turn is text');
    const messages = runner.messages;
    const call = messages.find((m) => m.role === 'assistant' && 'tool_calls' in m && m.tool_calls?.length);
    assert.ok(call, 'the assistant turn with the call is in the conversation');
    const result = messages.find((m) => m.role === 'tool');
    assert.equal(result && 'tool_call_id' in result ? result.tool_call_id : undefined, (call as { tool_calls: { id: string }[] }).tool_calls[0]!.id);
  });

  it('answers a whole tool call as OpenAI does: content null, the call, finish_reason tool_calls', async () => {
    const res = await client.chat.completions.create({
      model: 'agent',
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools: [weatherTool],
      tool_choice: 'required',
    });
    const choice = res.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    const call = choice.message.tool_calls![0]!;
    assert.equal(call.type, 'function');
    assert.match(call.id, /^call_/);
    assert.equal(call.type === 'function' && call.function.name, 'get_weather');
    assert.deepEqual(call.type === 'function' && JSON.parse(call.function.arguments), { city: 'sim', unit: 'celsius' });
    assert.ok(res.usage!.completion_tokens > 0, 'res.usage!.completion_tokens > 0');
  });

  it('streams a tool call in pieces the SDK assembles, and calls the function a caller names', async () => {
    const named: ChatCompletionTool = {
      type: 'function',
      function: { name: 'lookup', parameters: { type: 'object', properties: { id: { type: 'integer' }, query: { type: 'string' } } } },
    };
    const stream = await client.chat.completions.create({
      model: 'agent',
      messages: [{ role: 'user', content: 'Find item 7' }],
      tools: [weatherTool, named],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces: string[] = [];
    let first: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta | undefined;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      first ??= choice?.delta;
      for (const t of choice?.delta.tool_calls ?? []) pieces.push(t.function?.arguments ?? '');
      finish = choice?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(first?.role, 'assistant');
    assert.equal(first?.content, null);
    assert.ok(pieces.length > 1, 'the arguments come in more than one piece');
    assert.deepEqual(JSON.parse(pieces.join('')), { id: 1, query: 'sim' });
    assert.equal(finish, 'tool_calls');
    assert.ok(usage && usage.completion_tokens === pieces.length, 'usage && usage.completion_tokens === pieces.length');

    const helper = client.chat.completions.stream({
      model: 'agent',
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [weatherTool],
      tool_choice: 'required',
    });
    const final = await helper.finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls![0]!;
    assert.equal(call.type === 'function' && call.function.name, 'get_weather');
    assert.deepEqual(call.type === 'function' && JSON.parse(call.function.arguments), { city: 'sim', unit: 'celsius' });
  });

  it('keeps cached answers apart by the tools offered and by logprobs', async () => {
    const ask = (tools?: ChatCompletionTool[]) =>
      client.chat.completions.create({ model: 'agent', messages: [{ role: 'user', content: 'same question' }], temperature: 0, ...(tools && { tools }) });
    const plain = await ask();
    const withTools = await ask([weatherTool]);
    assert.equal(plain.choices[0]!.finish_reason === 'tool_calls', false);
    assert.equal(withTools.choices[0]!.finish_reason, 'tool_calls');
    const again = await ask([weatherTool]);
    assert.deepEqual(again.choices[0]!.message.tool_calls, withTools.choices[0]!.message.tool_calls, 'a repeat is answered from the cache');
    const withLogprobs = await client.chat.completions.create({
      model: 'agent',
      messages: [{ role: 'user', content: 'same question' }],
      temperature: 0,
      logprobs: true,
    });
    assert.ok(withLogprobs.choices[0]!.logprobs?.content?.length, 'an answer cached without logprobs is not served to a call that asks for them');
  });

  async function post(body: object) {
    const res = await request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, error: ((await res.body.json()) as { error: { message: string; param: string | null; code: string } }).error };
  }

  it('refuses what cannot work with a 400 that says why', async () => {
    const messages = [{ role: 'user', content: 'hi' }];
    const unknownChoice = await post({ model: 'agent', messages, tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'nope' } } });
    assert.equal(unknownChoice.status, 400);
    assert.equal(unknownChoice.error.param, 'tool_choice');
    assert.match(unknownChoice.error.message, /'nope'.*not in 'tools'/);

    const badName = await post({ model: 'agent', messages, tools: [{ type: 'function', function: { name: 'has space' } }] });
    assert.equal(badName.status, 400);
    assert.equal(badName.error.param, 'tools[0].function.name');

    // A local model calls tools too: the embedded engine writes the call under a grammar.
    const local = await client.chat.completions.create({
      model: 'local',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [weatherTool],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
    assert.equal(local.choices[0]!.finish_reason, 'tool_calls');
    assert.equal(local.choices[0]!.message.tool_calls?.length, 1);

    const reasoned = await post({ model: 'agent', messages, tools: [weatherTool], reasoning: { strategy: 'sc' } });
    assert.equal(reasoned.status, 400);
    assert.equal(reasoned.error.param, 'tools');
    const reasonedLogprobs = await post({ model: 'agent', messages, logprobs: true, reasoning: { strategy: 'sc' } });
    assert.equal(reasonedLogprobs.status, 400);
    assert.equal(reasonedLogprobs.error.param, 'logprobs');

    // A local model still answers when the tools offered are forbidden, and the gateway keeps serving.
    const allowed = await client.chat.completions.create({
      model: 'local',
      messages: [{ role: 'user', content: 'Once' }],
      tools: [weatherTool],
      tool_choice: 'none',
      max_tokens: 4,
    });
    assert.ok(allowed.choices[0]!.message.content!.length > 0, 'allowed.choices[0]!.message.content!.length > 0');
  });

  // Two tiny PNGs (1x1, red and blue), as a client sends screenshots: base64 data URLs.
  const red = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
  const blue = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPj/HwADBwIAMCbHYQAAAABJRU5ErkJggg==';
  const look = (url: string) =>
    client.chat.completions.create({
      model: 'agent',
      max_tokens: 4,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url, detail: 'low' } },
            { type: 'text', text: 'What is on the screen?' },
          ],
        },
      ],
    });

  it('passes images to the upstream, which counts and caches each one as its own', async () => {
    const first = await look(red);
    assert.ok(first.usage!.prompt_tokens >= 256, `an image costs the upstream prompt tokens (${first.usage!.prompt_tokens})`);
    const again = await look(red);
    assert.ok(again.usage!.prompt_tokens_details!.cached_tokens! >= 256, 'the same image is found in the upstream prefix cache');
    const other = await look(blue);
    assert.ok(other.usage!.prompt_tokens_details!.cached_tokens! < 256, 'another image is not mistaken for it');
  });

  it('refuses images where they cannot be read, and parts it does not know, with a 400', async () => {
    const local = await post({ model: 'local', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: red } }] }] });
    assert.equal(local.status, 400);
    assert.equal(local.error.code, 'images_unsupported');
    const audio = await post({
      model: 'agent',
      messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }],
    });
    assert.equal(audio.status, 400);
    assert.equal(audio.error.param, 'messages[0].content[0].type');
    const file = await post({ model: 'agent', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }] }] });
    assert.equal(file.status, 400);
    assert.equal(file.error.param, 'messages[0].content[0].image_url.url');
  });

  it("passes the upstream's log probabilities on, whole and streamed", async () => {
    const messages = [{ role: 'user' as const, content: 'Say something.' }];
    // The simulator draws each word uniformly from 16: every word has log probability ln(1/16).
    const uniform = -Math.log(16);
    const res = await client.chat.completions.create({ model: 'agent', messages, max_tokens: 4, logprobs: true, top_logprobs: 2 });
    const tokens = res.choices[0]!.logprobs!.content!;
    assert.equal(tokens.length, 4);
    assert.equal(tokens.map((t) => t.token).join(''), res.choices[0]!.message.content);
    for (const t of tokens) {
      assert.ok(Math.abs(t.logprob - uniform) < 1e-9, `ln(1/16), not ${t.logprob}`);
      assert.equal(t.top_logprobs.length, 2);
      assert.equal(t.top_logprobs[0]!.token, t.token);
    }
    const stream = await client.chat.completions.create({ model: 'agent', messages, max_tokens: 4, logprobs: true, stream: true });
    let withText = 0;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice?.delta.content) continue;
      withText++;
      assert.equal(choice.logprobs?.content?.[0]?.token, choice.delta.content, 'each streamed piece carries its token');
    }
    assert.equal(withText, 4);
  });
});
