// AutoGLM reasoning end to end: the official SDK against a gateway of sim solvers (strategy prefixes, the reasoning
// field, streams, escalation to a larger model), `autoglm eval` on GSM8K and on the task parser, and the whole path on
// the real embedded model.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import { parseGatewayConfig, reasoningConfigSchema } from '../../src/config/index.js';
import { DocumentIndex } from '../../src/retrieval/index.js';
import { serveGateway, serveModel, type GatewayServer, type RunningServer } from '../../src/server/index.js';
import { runCli } from '../support/processes.js';
import { repoRoot, testPaths } from '../support/server.js';

const datasets = join(repoRoot, '../shared/datasets');
const gsm8k = readFileSync(join(datasets, 'gsm8k-test.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { question: string; answer: string });
const gold = (i: number) => gsm8k[i]!.answer.split('####').pop()!.trim().replace(/,/g, '');

type WithReasoning = OpenAI.Chat.ChatCompletion & {
  reasoning?: {
    strategy: string;
    calls: number;
    samples: number;
    confidence: number | null;
    answer: string | null;
    escalations: { kind: string }[];
    model: string;
    votes: { answer: string; count: number }[] | null;
    budget: { tokens: number; used: number; exhausted: boolean };
    sources?: string[];
  };
};

/** A folder of documents about the gateway, each paragraph long enough that four of them overflow a 2048-token context. */
async function gatewayDocsIndex(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'autoglm-reasoning-docs-'));
  const paragraph = (i: number) =>
    `Gateway note ${i}: the gateway listens on port 8080 unless --port says otherwise, and every replica of a pool is checked by the health checker before it takes traffic again. ` +
    'A canary release moves a share of the traffic to the new version, and rolls back by itself when the error rate or the latency passes what its rules allow, so that a bad version reaches few callers. '.repeat(
      3,
    );
  writeFileSync(join(dir, 'gateway.md'), Array.from({ length: 8 }, (_, i) => paragraph(i)).join('\n\n'));
  const index = DocumentIndex.empty();
  await index.add([dir]);
  const file = join(dir, 'index.json');
  index.save(file);
  return file;
}

describe('reasoning through the API, on sim solvers', () => {
  let gateway: GatewayServer;
  let client: OpenAI;

  before(async () => {
    process.env.AUTOGLM_DATASETS_DIR = datasets;
    const index = await gatewayDocsIndex();
    gateway = await serveGateway(
      parseGatewayConfig(`
database: ':memory:'
cache: { ttlSeconds: 600 }
models:
  small: { replicas: [{ type: sim, preset: instant, solver: { dataset: gsm8k, p: 0.3 } }] }
  large: { replicas: [{ type: sim, preset: instant, solver: { dataset: gsm8k, p: 1 } }, { type: sim, preset: instant, solver: { dataset: gsm8k, p: 1 } }] }
reasoning:
  confidence: 0.6
  maxEscalations: 3
  cascade: { small: large }
  retrieval: { index: ${index}, topK: 2 }
`),
      { serverOverrides: { port: 0 } },
    );
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });

  after(async () => {
    await gateway?.close();
  });

  const ask = (model: string, i: number, extra: Record<string, unknown> = {}) =>
    client.chat.completions
      .create({ model, messages: [{ role: 'user', content: gsm8k[i]!.question }], seed: 11, ...extra })
      .withResponse() as unknown as Promise<{ data: WithReasoning; response: Response }>;

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
    const stream = await client.chat.completions
      .create({
        model: 'large',
        messages: [{ role: 'user', content: gsm8k[4]!.question }],
        stream: true,
        stream_options: { include_usage: true },
        reasoning: { strategy: 'asc', max_samples: 6 },
      } as OpenAI.Chat.ChatCompletionCreateParamsStreaming)
      .withResponse();
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
    assert.ok(
      r.escalations.some((e) => e.kind === 'larger_model'),
      JSON.stringify(r.escalations),
    );
    assert.equal(r.model, 'large');
    assert.equal(data.model, 'large', 'the response names the model that answered');
    assert.equal(r.answer, gold(7));
    assert.ok(r.calls > 2, 'r.calls > 2');
  });

  it('answers a chat message directly under auto, and refuses n > 1 with a strategy', async () => {
    const { data } = (await client.chat.completions
      .create({ model: 'auto:large', messages: [{ role: 'user', content: 'hello there, how are you today' }] })
      .withResponse()) as unknown as { data: WithReasoning };
    assert.equal(data.reasoning?.strategy, 'direct');
    assert.equal(data.reasoning?.calls, 1);
    await assert.rejects(
      client.chat.completions.create({ model: 'sc:large', messages: [{ role: 'user', content: 'q' }], n: 2 }),
      (err) => err instanceof OpenAI.BadRequestError && /n > 1/.test(err.message),
    );
    await assert.rejects(
      client.chat.completions.create({ model: 'sc:nope', messages: [{ role: 'user', content: 'q' }] }),
      (err) => err instanceof OpenAI.NotFoundError,
    );
  });

  it("says finish_reason length when max_tokens cut a strategy's answer (cot:, direct:, rag:)", async () => {
    for (const prefix of ['cot', 'direct', 'rag']) {
      const res = await client.chat.completions.create({
        model: `${prefix}:large`,
        messages: [{ role: 'user', content: 'Which port does the gateway listen on?' }],
        max_tokens: 10,
      });
      assert.equal(res.choices[0]!.finish_reason, 'length', prefix);
      assert.equal(res.usage!.completion_tokens, 10, prefix);
    }
  });

  it('runs sc@8:model with 8 samples, and answers an unknown strategy prefix with a 400 that names it', async () => {
    const { data } = await ask('sc@8:large', 5);
    assert.equal(data.reasoning?.strategy, 'sc');
    assert.equal(data.reasoning?.samples, 8);
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'magic:large', messages: [{ role: 'user', content: 'q' }] }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { message: string; param: string; code: string } };
    assert.match(body.error.message, /unknown strategy 'magic'/);
    assert.equal(body.error.param, 'model');
  });

  it("lists the vote as answers and counts, and every sample's text only with include_samples", async () => {
    const plain = await ask('sc:large', 10, { reasoning: { samples: 4 } });
    const votes = plain.data.reasoning!.votes!;
    assert.equal(
      votes.reduce((a, v) => a + v.count, 0),
      4,
    );
    assert.equal((plain.data.reasoning as { sample_texts?: string[] }).sample_texts, undefined);
    const asked = await ask('sc:large', 10, { reasoning: { samples: 4, include_samples: true } });
    const texts = (asked.data.reasoning as { sample_texts?: string[] }).sample_texts!;
    assert.equal(texts.length, 4);
    assert.ok(texts.includes(asked.data.choices[0]!.message.content!), 'the answer shown is one of the samples');
  });

  it('leaks no abort listeners when sc@16 and auto: fan out through the gateway', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    // Each request on a connection of its own: a signal that warned once does not warn again.
    const post = (body: object) =>
      request(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.statusCode, json: (await r.body.json()) as WithReasoning }));
    try {
      const sc = await post({ model: 'sc:large', messages: [{ role: 'user', content: gsm8k[6]!.question }], seed: 11, reasoning: { samples: 16 } });
      assert.equal(sc.status, 200);
      assert.equal(sc.json.reasoning?.calls, 16);
      const auto = await post({ model: 'auto:small', messages: [{ role: 'user', content: gsm8k[8]!.question }], seed: 11 });
      assert.equal(auto.status, 200);
      // A warning is emitted on the next tick after the listener that crossed the limit.
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(
      warnings.filter((w) => /MaxListeners/.test(w)),
      [],
    );
  });

  it('says what the cache did for the whole reasoned answer: miss, partial (with the count), then hit', async () => {
    const run = (samples: number) => ask('sc:large', 9, { seed: 77, max_tokens: 200, reasoning: { samples } });
    const first = await run(3);
    assert.equal(first.response.headers.get('x-autoglm-cache'), 'miss');
    const more = await run(6);
    assert.equal(more.response.headers.get('x-autoglm-cache'), 'partial', 'three of six samples were new');
    assert.equal(more.response.headers.get('x-autoglm-cache-hits'), '3/6');
    const again = await run(6);
    assert.equal(again.response.headers.get('x-autoglm-cache'), 'hit');
    assert.equal(again.response.headers.get('x-autoglm-cache-hits'), '6/6');
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
    for (const task of ['math', 'logic', 'code', 'classification', 'summarization', 'open_qa', 'chat']) {
      const items = Number(new RegExp(`^${task}\\s+(\\d+)\\s+[\\d.]+%`, 'm').exec(cli.out())?.[1]);
      assert.ok(items >= 20, `${task}: ${items} held-out items in\n${cli.out()}`);
    }
    const overall = Number(/^all\s+\d+\s+([\d.]+)%/m.exec(cli.out())?.[1]);
    assert.ok(overall >= 90, `overall ${overall}%`);
  });
});

describe('reasoning on the real embedded model', () => {
  let server: RunningServer;

  before(async () => {
    // The default server (stories260K, context 2048, four sequences) with a document index for rag.
    const index = await gatewayDocsIndex();
    server = await serveModel({
      engine: { model: 'stories260K', threads: 1, parallel: 4 },
      server: { port: 0 },
      paths: testPaths(),
      reasoning: reasoningConfigSchema.parse({ retrieval: { index } }),
    });
  });

  after(async () => {
    await server?.close();
  });

  it('runs adaptive self-consistency through llama.cpp end to end, escalating when the samples disagree', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const res = (await client.chat.completions.create({
      model: 'asc:stories260K',
      messages: [{ role: 'user', content: gsm8k[0]!.question }],
      max_tokens: 24,
      seed: 3,
      reasoning: { max_samples: 4 },
    } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)) as WithReasoning;
    assert.equal(res.reasoning?.strategy, 'asc');
    // A story model gives a different "answer" every time: the controller asks for more samples, up to its limit.
    assert.ok(
      res.reasoning!.escalations.length > 0 && res.reasoning!.escalations.every((e) => e.kind === 'more_samples'),
      JSON.stringify(res.reasoning!.escalations),
    );
    assert.ok(res.reasoning!.calls > 4, 'res.reasoning!.calls > 4');
    assert.ok(res.choices[0]!.message.content!.length > 0, 'res.choices[0]!.message.content!.length > 0');
    assert.ok(res.usage!.completion_tokens > res.reasoning!.calls, 'usage counts every sample');
  });

  const client = () => new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 300_000 });
  const total = (u: OpenAI.CompletionUsage | undefined) => u!.prompt_tokens + u!.completion_tokens;

  it("answers the README's reasoning example within its budget, with an answer and a compact vote", async () => {
    const res = (await client().chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: gsm8k[1]!.question }],
      reasoning: { strategy: 'asc', max_samples: 8, budget_tokens: 6000, confidence: 0.6 },
    } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)) as WithReasoning;
    assert.ok(res.choices[0]!.message.content!.length > 0, 'an answer');
    assert.ok(['length', 'stop'].includes(res.choices[0]!.finish_reason), res.choices[0]!.finish_reason);
    assert.ok(res.reasoning!.answer !== null, 'the vote has a leader');
    assert.ok(total(res.usage) <= 6000, `spent ${total(res.usage)} of 6000 tokens`);
    assert.equal(res.reasoning!.budget.tokens, 6000);
    assert.ok(
      res.reasoning!.votes!.every((v) => v.answer.length <= 80),
      'votes give answers, not whole samples',
    );
    assert.ok(JSON.stringify(res.reasoning).length < 4000, `reasoning field of ${JSON.stringify(res.reasoning).length} characters`);
  });

  it('keeps auto: on "What is 2+3?" within the default budget', async () => {
    const res = (await client().chat.completions.create({ model: 'auto:stories260K', messages: [{ role: 'user', content: 'What is 2+3?' }] })) as WithReasoning;
    assert.ok(total(res.usage) <= 4096, `spent ${total(res.usage)} tokens`);
    assert.ok(res.reasoning!.calls <= 16, `${res.reasoning!.calls} calls`);
    assert.ok(res.choices[0]!.message.content!.length > 0, 'an answer');
  });

  it('fits rag passages to the 2048-token context, and says length when max_tokens cut an answer', async () => {
    const rag = (await client().chat.completions.create({
      model: 'rag:stories260K',
      messages: [{ role: 'user', content: 'Which port does the gateway listen on?' }],
    })) as WithReasoning;
    assert.ok(rag.reasoning!.sources!.length >= 1, 'some passages went in');
    assert.ok(total(rag.usage) <= 2048, `${total(rag.usage)} tokens in a 2048 context`);
    for (const prefix of ['cot', 'direct', 'rag']) {
      const cut = await client().chat.completions.create({
        model: `${prefix}:stories260K`,
        messages: [{ role: 'user', content: 'Which port does the gateway listen on?' }],
        max_tokens: 10,
      });
      assert.equal(cut.choices[0]!.finish_reason, 'length', prefix);
    }
  });
});
