// Tool calling on the embedded engine, through the clients users run: the openai SDK (its runTools loop, a streamed
// call, a named tool_choice), LangChain.js and the Vercel AI SDK, against the real server on stories260K.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, tool } from 'ai';
import { Ajv } from 'ajv';
import {
  ChatMLChatWrapper,
  type ChatWrapper,
  FunctionaryChatWrapper,
  Gemma4ChatWrapper,
  getLlama,
  Llama3_1ChatWrapper,
  type LlamaModel,
  MistralChatWrapper,
  QwenChatWrapper,
} from 'node-llama-cpp';
import type OpenAI from 'openai';
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { type ChatChunk, gather } from '../../src/core/index.js';
import { renderChat } from '../../src/engines/llama/chat-template.js';
import { LlamaEngine } from '../../src/engines/llama/index.js';
import { callSyntax } from '../../src/engines/llama/tool-calls.js';
import type { RunningServer } from '../../src/server/index.js';
import { openaiClient, startServer, storiesPath } from '../support/server.js';

const weatherParameters = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 24 }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const weatherTool: ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'The weather in a city', parameters: weatherParameters },
};
const timeTool: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_time',
    description: 'The time in a zone',
    parameters: { type: 'object', properties: { zone: { type: 'string', maxLength: 16 } }, required: ['zone'] },
  },
};
const validWeather = new Ajv().compile(weatherParameters);
/** A raw POST, for refusals the SDK would turn into exceptions. */
async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}
const messages = [{ role: 'user' as const, content: 'What is the weather in Paris?' }];

describe('tool calls on the embedded engine', () => {
  let server: RunningServer;
  let client: OpenAI;
  before(async () => {
    server = await startServer({ parallel: 2 });
    client = openaiClient(server);
  });
  after(() => server.close());

  it("runs the SDK's runTools loop: each round's call and result go back to the model, and every call's arguments are valid", async () => {
    const calls: unknown[] = [];
    const prompts: number[] = [];
    const runner = client.chat.completions.runTools(
      {
        model: 'stories260K',
        messages,
        seed: 7,
        tool_choice: 'required',
        parallel_tool_calls: false,
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'The weather in a city',
              parameters: weatherParameters,
              parse: (text: string) => JSON.parse(text) as { city: string; unit: string },
              function: (args: { city: string; unit: string }) => {
                calls.push(args);
                return { temperature: 21, unit: args.unit };
              },
            },
          },
        ],
      },
      { maxChatCompletions: 3 },
    );
    runner.on('totalUsage', () => undefined);
    runner.on('chatCompletion', (c) => prompts.push(c.usage!.prompt_tokens));
    await runner.done();
    assert.equal(calls.length, 3, 'one call a round for three rounds');
    for (const args of calls) assert.ok(validWeather(args), `arguments follow the schema: ${JSON.stringify(args)}`);
    // Each round's prompt carries the calls and results before it, so it grows.
    assert.ok(prompts[1]! > prompts[0]! && prompts[2]! > prompts[1]!, `prompts grow with the tool turns: ${prompts.join(', ')}`);
    const toolMessages = runner.messages.filter((m) => m.role === 'tool');
    assert.equal(toolMessages.length, 3);
  });

  it('answers a whole call as OpenAI does: content null, the call, finish_reason tool_calls', async () => {
    const res = await client.chat.completions.create({
      model: 'stories260K',
      messages,
      seed: 3,
      tools: [weatherTool],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
    const choice = res.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.tool_calls?.length, 1);
    const call = choice.message.tool_calls![0]!;
    assert.equal(call.type, 'function');
    assert.match(call.id, /^call_/);
    assert.ok(call.type === 'function' && call.function.name === 'get_weather', 'calls the offered function');
    assert.ok(call.type === 'function' && validWeather(JSON.parse(call.function.arguments)), 'valid arguments');
  });

  it('streams a call in pieces the SDK assembles, to the function tool_choice names', async () => {
    const stream = await client.chat.completions.create({
      model: 'stories260K',
      messages,
      seed: 5,
      stream: true,
      tools: [weatherTool, timeTool],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    const pieces: string[] = [];
    let name = '';
    let id = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      for (const t of choice?.delta.tool_calls ?? []) {
        if (t.function?.name) name = t.function.name;
        if (t.id) id = t.id;
        if (t.index === 0) pieces.push(t.function?.arguments ?? '');
      }
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(finish, 'tool_calls');
    assert.equal(name, 'get_time');
    assert.match(id, /^call_/);
    assert.ok(pieces.filter(Boolean).length > 1, `the arguments arrive in several pieces (${pieces.length})`);
    const args = JSON.parse(pieces.join('')) as { zone: unknown };
    assert.equal(typeof args.zone, 'string');
  });

  it('calls at most one function when parallel_tool_calls is false, and may call several otherwise', async () => {
    let most = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const one: OpenAI.ChatCompletion = await client.chat.completions.create({
        model: 'stories260K',
        messages,
        seed,
        tools: [weatherTool, timeTool],
        tool_choice: 'required',
        parallel_tool_calls: false,
      });
      assert.equal(one.choices[0]!.message.tool_calls?.length, 1, `seed ${seed}: one call`);
      const many = await client.chat.completions.create({
        model: 'stories260K',
        messages,
        seed,
        tools: [weatherTool, timeTool],
        tool_choice: 'required',
        max_tokens: 600,
      });
      if (many.choices[0]!.finish_reason === 'tool_calls') most = Math.max(most, many.choices[0]!.message.tool_calls!.length);
    }
    assert.ok(most > 1, `some answer made parallel calls (most: ${most})`);
  });

  it("never calls under tool_choice 'none', and under 'auto' answers in text or with a well-formed call", async () => {
    const none = await client.chat.completions.create({ model: 'stories260K', messages, seed: 1, max_tokens: 12, tools: [weatherTool], tool_choice: 'none' });
    assert.equal(none.choices[0]!.message.tool_calls, undefined);
    assert.ok(none.choices[0]!.message.content, 'a text answer');
    const auto = await client.chat.completions.create({ model: 'stories260K', messages, seed: 1, max_tokens: 12, tools: [weatherTool] });
    const choice = auto.choices[0]!;
    if (choice.finish_reason === 'tool_calls')
      assert.ok(validWeather(JSON.parse((choice.message.tool_calls![0] as { function: { arguments: string } }).function.arguments)), 'valid call');
    else assert.ok(choice.message.content, 'a text answer');
  });

  it('refuses a tool_choice naming a function that was not offered, and still refuses images', async () => {
    const named = await postJson(`${server.url}/v1/chat/completions`, {
      model: 'stories260K',
      messages,
      tools: [weatherTool],
      tool_choice: { type: 'function', function: { name: 'nope' } },
    });
    assert.equal(named.status, 400);
    assert.equal((named.body as { error: { param: string } }).error.param, 'tool_choice');
    const image = await postJson(`${server.url}/v1/chat/completions`, {
      model: 'stories260K',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }],
      tools: [weatherTool],
    });
    assert.equal(image.status, 400);
    assert.equal((image.body as { error: { code: string } }).error.code, 'images_unsupported');
  });

  it('LangChain.js: bindTools and invoke give tool_calls parsed into objects', async () => {
    const model = new ChatOpenAI({ configuration: { baseURL: `${server.url}/v1` }, apiKey: 'x', model: 'stories260K', maxRetries: 0 });
    const withTools = model.bindTools([weatherTool], { tool_choice: 'required', parallel_tool_calls: false });
    const message = await withTools.invoke('What is the weather in Paris?');
    assert.equal(message.tool_calls?.length, 1);
    const call = message.tool_calls![0]!;
    assert.equal(call.name, 'get_weather');
    assert.match(call.id ?? '', /^call_/);
    assert.ok(validWeather(call.args), `parsed arguments follow the schema: ${JSON.stringify(call.args)}`);
  });

  it('Vercel AI SDK: generateText with a zod tool and toolChoice required returns the call with its validated input', async () => {
    const openai = createOpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x' });
    const result = await generateText({
      model: openai.chat('stories260K'),
      prompt: 'What is the weather in Paris?',
      seed: 11,
      toolChoice: 'required',
      tools: {
        get_weather: tool({
          description: 'The weather in a city',
          inputSchema: z.object({ city: z.string().max(24), unit: z.enum(['celsius', 'fahrenheit']) }),
        }),
      },
    });
    assert.equal(result.finishReason, 'tool-calls');
    assert.equal(result.toolCalls.length >= 1, true);
    const call = result.toolCalls[0]!;
    assert.equal(call.toolName, 'get_weather');
    const input = call.input as { city: string; unit: string };
    assert.equal(typeof input.city, 'string');
    assert.ok(['celsius', 'fahrenheit'].includes(input.unit), `unit ${input.unit}`);
  });
});

describe('tool turns in the prompt', () => {
  it('renders an assistant call and its result in the call syntax of the template, not as user text', async () => {
    const llama = await getLlama({ gpu: false });
    const model = await llama.loadModel({ modelPath: storiesPath });
    try {
      const prompt = renderChat(
        new ChatMLChatWrapper(),
        model,
        [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' }] },
          { role: 'tool', content: '{"temperature":21}', toolCallId: 'call_1' },
        ],
        [{ name: 'get_weather', description: 'The weather in a city', parameters: weatherParameters }],
      );
      const text = model.detokenize(prompt.tokens, true);
      assert.match(text, /\|\|call: ?get_weather ?\(\{"city": ?"Paris", ?"unit": ?"celsius"\} ?\)/, text);
      assert.match(text, /\|\|result: ?\{"temperature": ?21\}/, text);
      assert.doesNotMatch(text, /user\n\{"temperature"/, 'the result is not a user turn');
      assert.match(text, /\|\|result: ?\{"temperature": ?21\}\s*$/, 'the answer goes on in the turn that made the call');
      assert.match(text, /get_weather/, 'the function is documented');
    } finally {
      await model.dispose();
    }
  });
});

describe("tool_choice 'auto' on the embedded engine", () => {
  it('lets the model start a call in free text: the text before it is the content, the call goes on under the grammar', async () => {
    const engine = await LlamaEngine.load({ model: storiesPath, alias: 'stories260K', threads: 1 });
    // A call syntax whose opening is words the model writes on its own, so that it chooses to call.
    class WordCallWrapper extends ChatMLChatWrapper {
      override readonly settings = {
        ...new ChatMLChatWrapper().settings,
        functions: {
          ...ChatMLChatWrapper.defaultSettings.functions,
          call: { ...ChatMLChatWrapper.defaultSettings.functions.call, prefix: 'the ', prefixAlternateMatches: [] },
        },
      };
    }
    (engine as unknown as { chatWrapper: ChatWrapper }).chatWrapper = new WordCallWrapper();
    try {
      const chunks: ChatChunk[] = [];
      const req = {
        model: 'stories260K',
        input: { type: 'messages' as const, messages: [{ role: 'user' as const, content: 'Tell me a story.' }] },
        stop: [],
        responseFormat: { type: 'text' as const },
        n: 1,
        seed: 2,
        tools: [{ name: 'get_weather', parameters: weatherParameters }],
        toolChoice: 'auto' as const,
        parallelToolCalls: false,
      };
      for await (const chunk of engine.stream(req, { signal: new AbortController().signal, requestId: 'auto' })) chunks.push(chunk);
      const result = gather(chunks);
      const choice = result.choices[0]!;
      assert.equal(choice.finishReason, 'tool_calls', JSON.stringify(choice));
      assert.ok(choice.text.length > 0 && !choice.text.includes('the '), `the content is the text before the call: ${JSON.stringify(choice.text)}`);
      assert.equal(choice.toolCalls?.length, 1);
      assert.equal(choice.toolCalls![0]!.name, 'get_weather');
      assert.ok(validWeather(JSON.parse(choice.toolCalls![0]!.arguments)), 'valid arguments');
      assert.ok(result.usage.completionTokens > 0, 'usage counts both parts');
      const firstCall = chunks.findIndex((c) => c.type === 'tool-call-delta');
      assert.ok(
        chunks.slice(0, firstCall).some((c) => c.type === 'text-delta'),
        'the text streams before the call',
      );
    } finally {
      await engine.dispose();
    }
  });
});

describe('the call syntax of templates that know tools', () => {
  it('Qwen, Llama 3.1, Mistral, Functionary and Gemma 4 wrappers each get calls in their own syntax, read back as tool_calls', async () => {
    const engine = await LlamaEngine.load({ model: storiesPath, alias: 'stories260K', threads: 1 });
    const wrappers = [new QwenChatWrapper(), new Llama3_1ChatWrapper(), new MistralChatWrapper(), new FunctionaryChatWrapper(), new Gemma4ChatWrapper()];
    try {
      for (const wrapper of wrappers) {
        const name = wrapper.constructor.name;
        const syntax = callSyntax(wrapper);
        assert.notEqual(syntax.prefix, callSyntax(new ChatMLChatWrapper()).prefix, `${name} has a call syntax of its own`);
        (engine as unknown as { chatWrapper: ChatWrapper; toolPlans: Map<string, unknown> }).chatWrapper = wrapper;
        (engine as unknown as { toolPlans: Map<string, unknown> }).toolPlans.clear();
        const history = [
          { role: 'user' as const, content: 'What time is it in Paris?' },
          { role: 'assistant' as const, content: '', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' }] },
          { role: 'tool' as const, content: '{"temperature":21}', toolCallId: 'c1' },
        ];
        const llamaModel = (engine as unknown as { model: LlamaModel }).model;
        const prompt = llamaModel.detokenize(renderChat(wrapper, llamaModel, history, [{ name: 'get_weather', parameters: weatherParameters }]).tokens, true);
        const bare = (text: string) => text.replace(/\s/g, '');
        assert.ok(bare(prompt).includes(bare(`${syntax.prefix}get_weather`)), `${name}: the history's call is in the template's syntax: ${prompt}`);
        const chunks: ChatChunk[] = [];
        const req = {
          model: 'stories260K',
          input: { type: 'messages' as const, messages: history },
          stop: [],
          responseFormat: { type: 'text' as const },
          n: 1,
          seed: 4,
          maxTokens: 300,
          tools: [{ name: 'get_weather', parameters: weatherParameters }],
          toolChoice: 'required' as const,
          parallelToolCalls: false,
        };
        for await (const chunk of engine.stream(req, { signal: new AbortController().signal, requestId: name })) chunks.push(chunk);
        const choice = gather(chunks).choices[0]!;
        assert.equal(choice.finishReason, 'tool_calls', `${name}: ${JSON.stringify(choice)}`);
        assert.equal(choice.toolCalls?.length, 1, name);
        assert.ok(validWeather(JSON.parse(choice.toolCalls![0]!.arguments)), `${name}: valid arguments ${choice.toolCalls![0]!.arguments}`);
      }
    } finally {
      await engine.dispose();
    }
  });
});
