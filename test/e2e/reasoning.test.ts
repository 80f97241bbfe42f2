// AutoGLM reasoning end to end: the official SDK against a gateway of sim solvers (strategy prefixes, the reasoning
// field, streams, escalation to a larger model), `autoglm eval` on GSM8K and on the task parser, and the whole path on
// the real embedded model.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, serveModel, type GatewayServer, type RunningServer } from '../../src/server/index.js';
import { runCli } from '../support/processes.js';
import { repoRoot, testPaths } from '../support/server.js';

const datasets = join(repoRoot, '../shared/datasets');
const gsm8k = readFileSync(join(datasets, 'gsm8k-test.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { question: string; answer: string });
const gold = (i: number) => gsm8k[i]!.answer.split('####').pop()!.trim().replace(/,/g, '');

type WithReasoning = OpenAI.Chat.ChatCompletion & { reasoning?: { strategy: string; calls: number; samples: number; confidence: number | null; answer: string | null; escalations: { kind: string }[]; model: string } };

describe('reasoning through the API, on sim solvers', () => {
  let gateway: GatewayServer;
  let client: OpenAI;

  before(async () => {
    process.env.AUTOGLM_DATASETS_DIR = datasets;
    gateway = await serveGateway(parseGatewayConfig(`
database: ':memory:'
models:
  small: { replicas: [{ type: sim, preset: instant, solver: { dataset: gsm8k, p: 0.3 } }] }
  large: { replicas: [{ type: sim, preset: instant, solver: { dataset: gsm8k, p: 1 } }] }
reasoning:
  confidence: 0.6
  maxEscalations: 3
  cascade: { small: large }
`), { serverOverrides: { port: 0 } });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });

  after(async () => {
    await gateway?.close();
  });

  const ask = (model: string, i: number, extra: Record<string, unknown> = {}) =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content: gsm8k[i]!.question }], seed: 11, ...extra }).withResponse() as unknown as Promise<{ data: WithReasoning; response: Response }>;

  it('runs a strategy named by a model prefix and reports it in the body and headers', async () => {
    const { data, response } = await ask('sc:large', 3, { reasoning: { samples: 5 } });
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.reasoning?.strategy, 'sc');
    assert.equal(data.reasoning?.calls, 5);
    assert.equal(data.reasoning?.answer, gold(3));
    assert.equal(data.reasoning?.confidence, 1);
    assert.match(data.choices[0]!.message.content!, new RegExp(`The answer is ${gold(3)}|the answer is ${gold(3)}`));
    assert.equal(response.headers.get('x-autoglm-strategy'), 'sc');
    assert.equal(response.headers.get('x-autoglm-reasoning-calls'), '5');
    // Usage counts every sample's tokens, not only the answer shown.
    const single = await client.chat.completions.create({ model: 'large', messages: [{ role: 'user', content: gsm8k[3]!.question }], seed: 11 });
    assert.ok(data.usage!.prompt_tokens >= 5 * single.usage!.prompt_tokens, 'data.usage!.prompt_tokens >= 5 * single.usage!.prompt_tokens');
  });

  it('takes the strategy from the reasoning field and streams the answer', async () => {
    const stream = await client.chat.completions.create({
      model: 'large', messages: [{ role: 'user', content: gsm8k[4]!.question }], stream: true, stream_options: { include_usage: true },
      reasoning: { strategy: 'asc', max_samples: 6 },
    } as OpenAI.Chat.ChatCompletionCreateParamsStreaming).withResponse();
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream.data) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    assert.match(text, new RegExp(`answer is ${gold(4)}`));
    assert.equal(stream.response.headers.get('x-autoglm-strategy'), 'asc');
    assert.equal(stream.response.headers.get('x-autoglm-reasoning-calls'), '2', 'two agreeing samples are enough');
    assert.ok(usage && usage.completion_tokens > 0, 'usage && usage.completion_tokens > 0');
  });

  it('escalates a low-confidence answer from the small model to the large one (auto)', async () => {
    const { data } = await ask('auto:small', 7);
    const r = data.reasoning!;
    assert.ok(r.escalations.some((e) => e.kind === 'larger_model'), JSON.stringify(r.escalations));
    assert.equal(r.model, 'large');
    assert.equal(data.model, 'large', 'the response names the model that answered');
    assert.equal(r.answer, gold(7));
    assert.ok(r.calls > 2, 'r.calls > 2');
  });

  it('answers a chat message directly under auto, and refuses n > 1 with a strategy', async () => {
    const { data } = await client.chat.completions.create({ model: 'auto:large', messages: [{ role: 'user', content: 'hello there, how are you today' }] }).withResponse() as unknown as { data: WithReasoning };
    assert.equal(data.reasoning?.strategy, 'direct');
    assert.equal(data.reasoning?.calls, 1);
    await assert.rejects(client.chat.completions.create({ model: 'sc:large', messages: [{ role: 'user', content: 'q' }], n: 2 }), (err) => err instanceof OpenAI.BadRequestError && /n > 1/.test(err.message));
    await assert.rejects(client.chat.completions.create({ model: 'sc:nope', messages: [{ role: 'user', content: 'q' }] }), (err) => err instanceof OpenAI.NotFoundError);
  });
});

describe('autoglm eval', () => {
  it('shows self-consistency beating direct by the predicted margin, and adaptive stopping matching it with far fewer samples', async () => {
    const cli = runCli(['eval', '--dataset', 'gsm8k', '--sim-solver', '0.6', '--strategies', 'direct,sc@8,asc@8', '--datasets-dir', datasets]);
    assert.equal(await cli.exited, 0, cli.err());
    const row = (name: string) => {
      const m = new RegExp(`^${name}\\s+([\\d.]+)%\\s+[\\d.]+%-[\\d.]+%\\s+([\\d.]+)\\s+([\\d.]+)\\s+\\d+\\s+[\\d.]+(?:\\s+([\\d.]+)%)?`, 'm').exec(cli.out());
      assert.ok(m, `${name} row in:\n${cli.out()}`);
      return { accuracy: Number(m[1]), samples: Number(m[3]), predicted: m[4] === undefined ? undefined : Number(m[4]) };
    };
    const [direct, sc, asc] = [row('direct'), row('sc@8'), row('asc@8')];
    assert.match(cli.out(), /gsm8k, 1319 items/);
    assert.ok(Math.abs(direct.accuracy - direct.predicted!) < 4, `direct ${direct.accuracy} vs ${direct.predicted}`);
    assert.ok(Math.abs(sc.accuracy - direct.accuracy - (sc.predicted! - direct.predicted!)) < 4, `margin ${sc.accuracy - direct.accuracy}`);
    assert.ok(Math.abs(asc.accuracy - sc.accuracy) <= 0.5, `adaptive ${asc.accuracy} vs fixed ${sc.accuracy}`);
    assert.ok(asc.samples <= 0.45 * sc.samples, `adaptive drew ${asc.samples} samples per item against ${sc.samples}`);
  });

  it('reports the task parser accuracy per class on the held-out set', async () => {
    const cli = runCli(['eval', '--classifier', '--datasets-dir', datasets]);
    assert.equal(await cli.exited, 0, cli.err());
    for (const task of ['math', 'logic', 'code', 'classification']) assert.match(cli.out(), new RegExp(`^${task}\\s+\\d+\\s+[\\d.]+%`, 'm'));
    const overall = Number(/^all\s+\d+\s+([\d.]+)%/m.exec(cli.out())?.[1]);
    assert.ok(overall >= 90, `overall ${overall}%`);
  });
});

describe('reasoning on the real embedded model', () => {
  let server: RunningServer;

  before(async () => {
    server = await serveModel({ engine: { model: 'stories260K', threads: 1, parallel: 4 }, server: { port: 0 }, paths: testPaths() });
  });

  after(async () => {
    await server?.close();
  });

  it('runs adaptive self-consistency through llama.cpp end to end, escalating when the samples disagree', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const res = (await client.chat.completions.create({ model: 'asc:stories260K', messages: [{ role: 'user', content: gsm8k[0]!.question }], max_tokens: 24, seed: 3, reasoning: { max_samples: 4 } } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)) as WithReasoning;
    assert.equal(res.reasoning?.strategy, 'asc');
    // A story model gives a different "answer" every time: the controller asks for more samples, up to its limit.
    assert.ok(res.reasoning!.escalations.length > 0 && res.reasoning!.escalations.every((e) => e.kind === 'more_samples'), JSON.stringify(res.reasoning!.escalations));
    assert.ok(res.reasoning!.calls > 4, 'res.reasoning!.calls > 4');
    assert.ok(res.choices[0]!.message.content!.length > 0, 'res.choices[0]!.message.content!.length > 0');
    assert.ok(res.usage!.completion_tokens > res.reasoning!.calls, 'usage counts every sample');
  });
});
