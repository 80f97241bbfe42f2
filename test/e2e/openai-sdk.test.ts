// The official openai SDK, unchanged, against the real server on stories260K.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import type { RunningServer } from '../../src/server/index.js';
import { request } from 'undici';
import { until } from '../support/processes.js';
import { openaiClient, startServer } from '../support/server.js';

describe('OpenAI SDK against autoglm serve', () => {
  let server: RunningServer;
  let client: OpenAI;
  before(async () => {
    server = await startServer({ parallel: 2 });
    client = openaiClient(server);
  });
  after(() => server.close());

  it('lists the served model', async () => {
    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['stories260K'],
    );
    const one = await client.models.retrieve('stories260K');
    assert.equal(one.id, 'stories260K');
  });

  it('answers a chat completion with text and usage', async () => {
    const res = await client.chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Tell me a story about a cat.' }],
      max_tokens: 24,
      temperature: 0,
    });
    assert.equal(res.object, 'chat.completion');
    assert.equal(res.choices.length, 1);
    assert.equal(res.choices[0]!.message.role, 'assistant');
    assert.ok(res.choices[0]!.message.content!.length > 0, 'res.choices[0]!.message.content!.length > 0');
    assert.ok(['stop', 'length'].includes(res.choices[0]!.finish_reason), "['stop', 'length'].includes(res.choices[0]!.finish_reason)");
    assert.ok(res.usage!.prompt_tokens > 5, 'res.usage!.prompt_tokens > 5');
    assert.ok(
      res.usage!.completion_tokens >= 1 && res.usage!.completion_tokens <= 24,
      'res.usage!.completion_tokens >= 1 && res.usage!.completion_tokens <= 24',
    );
    assert.equal(res.usage!.total_tokens, res.usage!.prompt_tokens + res.usage!.completion_tokens);
  });

  it('greedy decoding is reproducible and continues the story sensibly', async () => {
    const ask = () => client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 16, temperature: 0 });
    const [a, b] = [await ask(), await ask()];
    assert.equal(a.choices[0]!.text, b.choices[0]!.text);
    // stories260K is a real TinyStories model: its greedy continuation is English, not noise.
    assert.match(a.choices[0]!.text, /\b(there|was|a|girl|boy|little)\b/);
    assert.equal(a.choices[0]!.finish_reason, 'length');
    assert.equal(a.usage!.completion_tokens, 16);
  });

  it('a raw continuation keeps the space before its first word: whole, echoed, streamed and on /infer', async () => {
    const prompt = 'Once upon a time, there was a';
    const ask = { model: 'stories260K', prompt, max_tokens: 6, temperature: 0 };
    const plain = (await client.completions.create(ask)).choices[0]!.text;
    // Greedy stories260K goes on with a word here ("little"), which must be set apart from the prompt's last word.
    assert.match(plain, /^ \w/, `the continuation starts with a space and a word: ${JSON.stringify(plain)}`);
    const echoed = (await client.completions.create({ ...ask, echo: true })).choices[0]!.text;
    assert.equal(echoed, prompt + plain);
    let streamed = '';
    for await (const chunk of await client.completions.create({ ...ask, stream: true })) streamed += chunk.choices[0]?.text ?? '';
    assert.equal(streamed, plain);
    const infer = await fetch(`${server.url}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ask) });
    assert.equal(((await infer.json()) as { text: string }).text, plain);
  });

  it('streams chat chunks, ends with a finish reason and a usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Hello' }],
      max_tokens: 20,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    let first = true;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (first) assert.equal(chunk.choices[0]?.delta.role, 'assistant');
      first = false;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(text.length > 0, 'text.length > 0');
    assert.ok(finish === 'length' || finish === 'stop', "finish === 'length' || finish === 'stop'");
    assert.ok(usage && usage.completion_tokens > 0 && usage.completion_tokens <= 20, 'usage && usage.completion_tokens > 0 && usage.completion_tokens <= 20');
  });

  it('streams text completions', async () => {
    const stream = await client.completions.create({ model: 'stories260K', prompt: 'The dog', max_tokens: 12, stream: true });
    const pieces: string[] = [];
    for await (const chunk of stream) pieces.push(chunk.choices[0]?.text ?? '');
    assert.ok(pieces.join('').length > 0, "pieces.join('').length > 0");
    assert.ok(pieces.length >= 2, 'a stream arrives in several chunks');
  });

  it('returns n choices that differ under sampling', async () => {
    const res = await client.chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Story time' }],
      n: 3,
      max_tokens: 16,
      temperature: 1,
      seed: 7,
    });
    assert.deepEqual(
      res.choices.map((c) => c.index),
      [0, 1, 2],
    );
    assert.ok(new Set(res.choices.map((c) => c.message.content)).size >= 2, 'new Set(res.choices.map((c) => c.message.content)).size >= 2');
    const completion = res.choices.reduce((s, c) => s + c.message.content!.length, 0);
    assert.ok(completion > 0 && res.usage!.completion_tokens > 16, 'usage counts the tokens of every choice');
  });

  it('streams n choices interleaved, each opened with its role and closed with its finish reason', async () => {
    const stream = await client.chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Go' }],
      n: 2,
      max_tokens: 8,
      stream: true,
    });
    const text = ['', ''];
    const finished = new Set<number>();
    const opened = new Set<number>();
    for await (const chunk of stream) {
      const c = chunk.choices[0]!;
      if (c.delta.role) opened.add(c.index);
      text[c.index] += c.delta.content ?? '';
      if (c.finish_reason) finished.add(c.index);
    }
    assert.deepEqual([...opened].sort(), [0, 1]);
    assert.deepEqual([...finished].sort(), [0, 1]);
    assert.ok(
      text.every((t) => t.length > 0),
      'text.every((t) => t.length > 0)',
    );
  });

  it('json_object output parses as JSON', async () => {
    const res = await client.chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Give me JSON' }],
      max_tokens: 200,
      temperature: 0,
      response_format: { type: 'json_object' },
    });
    const choice = res.choices[0]!;
    if (choice.finish_reason === 'stop') assert.equal(typeof JSON.parse(choice.message.content!), 'object');
    else assert.match(choice.message.content!, /^\s*[{[]/, 'a cut-off answer is still JSON so far');
  });

  it('stops at a stop sequence and never shows it', async () => {
    const free = await client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 40, temperature: 0 });
    const text = free.choices[0]!.text;
    const word = text.trim().split(/\s+/)[2]!;
    const stopped = await client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 40, temperature: 0, stop: [word] });
    assert.equal(stopped.choices[0]!.finish_reason, 'stop');
    assert.equal(stopped.choices[0]!.text, text.slice(0, text.indexOf(word)));
  });

  it('follows a JSON schema through a grammar', async () => {
    const res = await client.chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Is the sky blue?' }],
      max_tokens: 40,
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', schema: { type: 'object', properties: { answer: { enum: ['yes', 'no'] } }, required: ['answer'] } },
      },
    });
    const parsed = JSON.parse(res.choices[0]!.message.content!) as { answer: string };
    assert.ok(['yes', 'no'].includes(parsed.answer), "['yes', 'no'].includes(parsed.answer)");
    assert.equal(res.choices[0]!.finish_reason, 'stop');
  });

  it('reports prompt tokens reused from the KV cache', async () => {
    const messages = [
      { role: 'system' as const, content: 'You are a storyteller who tells short, happy stories about animals in the forest.' },
      { role: 'user' as const, content: 'A fox' },
    ];
    const first = await client.chat.completions.create({ model: 'stories260K', messages, max_tokens: 4, seed: 1 });
    const again = await client.chat.completions.create({
      model: 'stories260K',
      messages: [...messages.slice(0, 1), { role: 'user', content: 'A bear' }],
      max_tokens: 4,
      seed: 1,
    });
    assert.ok(first.usage!.prompt_tokens > 20, 'first.usage!.prompt_tokens > 20');
    const cached = (again.usage as { prompt_tokens_details?: { cached_tokens: number } }).prompt_tokens_details!.cached_tokens;
    assert.ok(cached >= 20, `expected the shared system prompt to be reused, got ${cached} cached tokens`);
    assert.ok(cached < again.usage!.prompt_tokens, 'cached < again.usage!.prompt_tokens');
  });

  it("reports each token's log probability and its likeliest alternatives, whole and streamed", async () => {
    const messages = [{ role: 'user' as const, content: 'Tell me about a dog.' }];
    const res = await client.chat.completions.create({ model: 'stories260K', messages, max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 3 });
    const choice = res.choices[0]!;
    const tokens = choice.logprobs!.content!;
    assert.equal(tokens.length, res.usage!.completion_tokens, 'one entry per generated token');
    assert.equal(tokens.map((t) => t.token).join(''), choice.message.content, 'the tokens spell the answer');
    for (const t of tokens) {
      assert.ok(t.logprob <= 0 && t.logprob > -50, `a log probability: ${t.logprob}`);
      assert.equal(t.top_logprobs.length, 3);
      assert.ok(t.top_logprobs[0]!.logprob >= t.top_logprobs[1]!.logprob && t.top_logprobs[1]!.logprob >= t.top_logprobs[2]!.logprob, 'likeliest first');
      // Greedy decoding picks the likeliest token, with the probability reported for it.
      assert.equal(t.top_logprobs[0]!.token, t.token);
      assert.ok(Math.abs(t.top_logprobs[0]!.logprob - t.logprob) < 1e-6, "the chosen token's probability is the likeliest one's");
      assert.deepEqual(t.bytes, [...Buffer.from(t.token, 'utf8')]);
    }
    assert.ok(
      tokens.some((t) => t.logprob < -0.001),
      'a real model is not certain of every token',
    );

    const stream = await client.chat.completions.create({ model: 'stories260K', messages, max_tokens: 12, temperature: 0, logprobs: true, stream: true });
    const streamed: { token: string; logprob: number }[] = [];
    for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
    assert.deepEqual(
      streamed.map((t) => t.token),
      tokens.map((t) => t.token),
      'the same tokens, streamed',
    );
    // Another sequence of the same context may batch differently: the numbers agree to float noise, not to the bit.
    assert.ok(
      streamed.every((t, i) => Math.abs(t.logprob - tokens[i]!.logprob) < 1e-2),
      'the same log probabilities, streamed',
    );

    const plain = await client.chat.completions.create({ model: 'stories260K', messages, max_tokens: 4, temperature: 0 });
    assert.equal(plain.choices[0]!.logprobs, null, 'none unless asked');
    await assert.rejects(client.chat.completions.create({ model: 'stories260K', messages, top_logprobs: 2 }), /'top_logprobs' needs 'logprobs': true/);
    await assert.rejects(client.completions.create({ model: 'stories260K', prompt: 'x', logprobs: 2 }), /logprobs are served on \/v1\/chat\/completions/);
  });

  it('raises typed errors: NotFoundError, BadRequestError', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
      (err: unknown) => err instanceof OpenAI.NotFoundError && err.code === 'model_not_found' && err.param === 'model',
    );
    await assert.rejects(
      client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'hi' }], temperature: 5 }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'temperature',
    );
    await assert.rejects(
      client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'hi '.repeat(3000) }] }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.code === 'context_length_exceeded',
    );
  });
});

describe('a full queue', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ parallel: 1, maxQueue: 1 });
  });
  after(() => server.close());

  it('answers 429 with Retry-After, seen by the SDK as RateLimitError, and serves the rest', async () => {
    const client = openaiClient(server);
    const long = () =>
      client.completions.create({ model: 'stories260K', prompt: 'Once', max_tokens: 1500, ignore_eos: true } as OpenAI.CompletionCreateParamsNonStreaming);
    const running = long();
    const waiting = long();
    // Wait until one request holds the sequence and the other holds the queue's only place, however busy the machine.
    await until(async () => {
      const metrics = await (await request(`${server.url}/metrics`)).body.text();
      return /^autoglm_busy_sequences(\{[^}]*\})? 1$/m.test(metrics) && /^autoglm_queue_depth(\{[^}]*\})? 1$/m.test(metrics);
    }, 60_000);
    const refused = await client.completions.create({ model: 'stories260K', prompt: 'Once', max_tokens: 4 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(refused instanceof OpenAI.RateLimitError, `expected RateLimitError, got ${String(refused)}`);
    assert.ok(Number(refused.headers?.get('retry-after')) >= 1, "Number(refused.headers?.get('retry-after')) >= 1");
    const done = await Promise.all([running, waiting]);
    assert.deepEqual(
      done.map((r) => r.usage!.completion_tokens),
      [1500, 1500],
    );
  });
});
