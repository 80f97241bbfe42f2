// The tool-calling clients users run (openai's runTools, LangChain.js bindTools, the Vercel AI SDK's generateText),
// unchanged, through the gateway to `sim` replicas.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, tool } from 'ai';
import OpenAI from 'openai';
import { z } from 'zod';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';

const weatherParameters = {
  type: 'object',
  properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
  required: ['city', 'unit'],
};

describe('tool-calling clients through the gateway', () => {
  let gateway: GatewayServer;
  before(async () => {
    const yaml = ['models:', '  agent:', '    replicas: [{ type: sim, preset: instant, outputTokens: 6, seed: 3 }]'].join('\n');
    gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0 } });
  });
  after(() => gateway?.close());

  it("openai SDK: runTools calls the function, sends its result back, and ends on the model's text", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 20_000 });
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
            parse: (text: string) => JSON.parse(text) as { city: string },
            function: (args: { city: string }) => {
              calledWith.push(args);
              return { temperature: 21 };
            },
          },
        },
      ],
    });
    const content = await runner.finalContent();
    assert.equal(calledWith.length, 1);
    assert.equal(typeof (calledWith[0] as { city: unknown }).city, 'string');
    assert.ok(content && content.length > 0, 'the loop ends on a text answer');
  });

  it('LangChain.js: bindTools and invoke give parsed tool_calls', async () => {
    const model = new ChatOpenAI({ configuration: { baseURL: `${gateway.url}/v1` }, apiKey: 'x', model: 'agent', maxRetries: 0 });
    const message = await model
      .bindTools([{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: weatherParameters } }])
      .invoke('What is the weather in Paris?');
    assert.equal(message.tool_calls?.length, 1);
    assert.equal(message.tool_calls![0]!.name, 'get_weather');
    assert.equal(typeof message.tool_calls![0]!.args.city, 'string');
  });

  it('Vercel AI SDK: generateText with toolChoice required returns the call with its validated input', async () => {
    const openai = createOpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x' });
    const result = await generateText({
      model: openai.chat('agent'),
      prompt: 'What is the weather in Paris?',
      toolChoice: 'required',
      tools: {
        get_weather: tool({ description: 'The weather in a city', inputSchema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }) }),
      },
    });
    assert.equal(result.finishReason, 'tool-calls');
    const call = result.toolCalls[0]!;
    assert.equal(call.toolName, 'get_weather');
    const input = call.input as { city: string; unit: string };
    assert.equal(typeof input.city, 'string');
    assert.ok(['celsius', 'fahrenheit'].includes(input.unit), `unit ${input.unit}`);
  });
});
