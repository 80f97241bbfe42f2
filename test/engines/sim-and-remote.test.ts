// The simulator's timing, cache and faults, and the remote engine's mapping of what an upstream does.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { AutoglmError, collect, complete, type ChatChunk, type ChatRequest } from '../../src/core/index.js';
import { SimEngine } from '../../src/engines/sim/index.js';
import { OpenAIEngine } from '../../src/engines/openai/index.js';
import { serveSim, type SimServer } from '../../src/server/index.js';
import { until } from '../support/processes.js';

const ctx = () => ({ signal: new AbortController().signal, requestId: 't' });
const chat = (content: string, over: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'sim',
  input: { type: 'messages', messages: [{ role: 'user', content }] },
  stop: [],
  responseFormat: { type: 'text' },
  n: 1,
  ...over,
});

describe('sim engine', () => {
  it('is deterministic under a seed', async () => {
    const run = async () => (await complete(new SimEngine({ preset: 'instant', seed: 42, outputTokens: 12 }), chat('hello there'), ctx())).choices[0]!.text;
    assert.equal(await run(), await run());
    const other = (await complete(new SimEngine({ preset: 'instant', seed: 43, outputTokens: 12 }), chat('hello there'), ctx())).choices[0]!.text;
    assert.notEqual(await run(), other);
  });

  it('charges prefill only for uncached blocks: a repeated long prompt starts much sooner', async () => {
    const sim = new SimEngine({ preset: 'instant', prefillMsPerToken: 0.5, blockSize: 16, outputTokens: 1 });
    const prompt = Array.from({ length: 400 }, (_, i) => `w${i}`).join(' ');
    const timed = async () => {
      const t = performance.now();
      const r = await complete(sim, chat(prompt), ctx());
      return { ms: performance.now() - t, cached: r.usage.cachedPromptTokens };
    };
    const cold = await timed();
    const warm = await timed();
    assert.equal(cold.cached, 0);
    assert.ok(warm.cached >= 384, `cached ${warm.cached}`);
    assert.ok(cold.ms > 150 && warm.ms < cold.ms / 3, `cold ${cold.ms} ms, warm ${warm.ms} ms`);
  });

  it('queues beyond maxRunning', async () => {
    const sim = new SimEngine({ preset: 'instant', itlMs: 5, maxRunning: 2, outputTokens: 10 });
    const all = Promise.all([1, 2, 3].map(() => complete(sim, chat('x'), ctx())));
    await new Promise((r) => setTimeout(r, 15));
    assert.deepEqual([sim.stats.running, sim.stats.waiting], [2, 1]);
    await all;
  });

  it('injects errors', async () => {
    const sim = new SimEngine({ preset: 'instant', faults: { errorRate: 1, errorStatus: 503 } });
    await assert.rejects(complete(sim, chat('x'), ctx()), (e: { status: number }) => e.status === 503);
  });
});

describe('remote engine against upstreams', () => {
  let sim: SimServer;
  const stub = createServer((req, res) => {
    if (req.url?.endsWith('/models')) return void res.end('{"data":[]}');
    // vLLM's flat error shape, for a request it refuses.
    if (req.url?.startsWith('/refuses/'))
      return void res
        .writeHead(400, { 'content-type': 'application/json' })
        .end('{"object":"error","message":"This model\'s maximum context length is 2048 tokens.","type":"BadRequestError","param":"messages","code":400}');
    // Streams whose chunks test the payload check: lenient (no index, a usage-only chunk with no choices), malformed,
    // and an upstream that reports its own failure mid-stream.
    const sse = (...events: string[]) =>
      void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`${events.map((e) => `data: ${e}\n\n`).join('')}data: [DONE]\n\n`);
    if (req.url?.startsWith('/lenient/'))
      return sse('{"choices":[{"delta":{"content":"ok"},"finish_reason":"stop"}]}', '{"usage":{"prompt_tokens":3,"completion_tokens":1}}');
    if (req.url?.startsWith('/malformed/')) return sse('{"choices":[{"delta":{"content":"a"}}]}', '{"choices":"not a list"}');
    if (req.url?.startsWith('/fails/')) return sse('{"choices":[{"delta":{"content":"a"}}]}', '{"error":{"message":"out of memory"}}');
    res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' }).end('{"error":{"message":"slow down"}}');
  });
  before(async () => {
    sim = await serveSim({ preset: 'instant', itlMs: 3, outputTokens: 200 }, { port: 0 });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await sim.close();
    stub.close();
  });

  const remote = (baseUrl: string) => new OpenAIEngine({ model: 'm', upstreamModel: 'sim', preset: 'autoglm', baseUrl });

  it('passes a stream through chunk by chunk with the upstream usage', async () => {
    const engine = remote(`${sim.url}/v1`);
    const deltas: string[] = [];
    let usage: unknown;
    for await (const c of engine.stream(chat('hi', { model: 'm', maxTokens: 5 }), ctx())) {
      if (c.type === 'text-delta') deltas.push(c.text);
      if (c.type === 'usage') usage = c.usage;
    }
    assert.equal(deltas.length, 5);
    assert.deepEqual(usage, { promptTokens: 2, completionTokens: 5, cachedPromptTokens: 0 });
    await engine.close();
  });

  it("takes chunks that leave out what OpenAI's schema lets them, and ends a stream whose chunk is malformed or an error", async () => {
    const stubUrl = `http://127.0.0.1:${(stub.address() as { port: number }).port}`;
    /** What a stream passed on, and the error it ended with (thrown, or as its last chunk). */
    const streamed = async (path: string) => {
      const engine = remote(`${stubUrl}/${path}/v1`);
      const chunks: ChatChunk[] = [];
      let error: AutoglmError | undefined;
      try {
        for await (const c of engine.stream(chat('hi', { model: 'm' }), ctx())) {
          if (c.type === 'error') error = c.error;
          else chunks.push(c);
        }
      } catch (err) {
        assert.ok(err instanceof AutoglmError, String(err));
        error = err;
      }
      await engine.close();
      return { chunks, error };
    };
    const lenient = await streamed('lenient');
    assert.equal(lenient.error, undefined);
    assert.deepEqual(lenient.chunks, [
      { type: 'text-delta', index: 0, text: 'ok' },
      { type: 'finish', index: 0, reason: 'stop' },
      { type: 'usage', usage: { promptTokens: 3, completionTokens: 1, cachedPromptTokens: 0 } },
    ]);
    const malformed = await streamed('malformed');
    assert.deepEqual(malformed.chunks, [{ type: 'text-delta', index: 0, text: 'a' }], 'what came before the bad chunk was passed on');
    assert.equal(malformed.error?.code, 'upstream_bad_payload');
    const failed = await streamed('fails');
    assert.equal(failed.error?.code, 'upstream_error');
    assert.match(failed.error?.message ?? '', /out of memory/);
  });

  it('maps an upstream 429 to a rate limit error carrying Retry-After', async () => {
    const addr = stub.address() as { port: number };
    const engine = remote(`http://127.0.0.1:${addr.port}/v1`);
    await assert.rejects(
      complete(engine, chat('hi', { model: 'm' }), ctx()),
      (e: { status: number; retryAfter: number; code: string }) => e.status === 429 && e.retryAfter === 7 && e.code === 'upstream_rate_limited',
    );
    assert.equal(await engine.probe(AbortSignal.timeout(1000)), true);
    await engine.close();
  });

  it("passes an upstream's refusal on as a 400 naming its field", async () => {
    const addr = stub.address() as { port: number };
    const engine = remote(`http://127.0.0.1:${addr.port}/refuses/v1`);
    await assert.rejects(
      complete(engine, chat('hi', { model: 'm' }), ctx()),
      (e: { status: number; param: string | null; message: string; retryable: boolean }) =>
        e.status === 400 && e.param === 'messages' && /maximum context length is 2048/.test(e.message) && !e.retryable,
    );
    await engine.close();
  });

  it('aborts the upstream request when the caller goes away', async () => {
    const engine = remote(`${sim.url}/v1`);
    const controller = new AbortController();
    let seen = 0;
    for await (const c of engine.stream(chat('hi', { model: 'm' }), { signal: controller.signal, requestId: 'a' })) {
      if (c.type === 'text-delta' && ++seen === 3) controller.abort();
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(sim.served.engine.stats.running, 0, 'the upstream stopped generating');
    await engine.close();
  });

  it('asks for a whole answer unstreamed, and a caller that goes away stops the upstream', async () => {
    const engine = remote(`${sim.url}/v1`);
    const whole = await engine.complete(chat('hi', { model: 'm', maxTokens: 4, stream: false }), ctx());
    assert.equal(whole.choices.length, 1);
    assert.ok(whole.choices[0]!.text.length > 0, 'whole.choices[0]!.text.length > 0');
    assert.deepEqual(whole.usage, { promptTokens: 2, completionTokens: 4, cachedPromptTokens: 0 });
    const controller = new AbortController();
    const running = engine.complete(chat('hi', { model: 'm', stream: false }), { signal: controller.signal, requestId: 'b' });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sim.served.engine.stats.running, 1, 'the upstream is generating');
    controller.abort(new Error('client disconnected'));
    await assert.rejects(running);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(sim.served.engine.stats.running, 0, 'the upstream stopped generating');
    await engine.close();
  });

  it('calls sharing one signal all stop when it aborts, with one listener on it and no leak warning', async () => {
    const engine = remote(`${sim.url}/v1`);
    const controller = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const calls = Array.from({ length: 16 }, (_, i) =>
        engine.complete(chat('hi', { model: 'm', stream: false }), { signal: controller.signal, requestId: `s${i}` }),
      );
      const settled = Promise.allSettled(calls);
      await until(() => sim.served.engine.stats.running + sim.served.engine.stats.waiting >= 16);
      assert.equal(getEventListeners(controller.signal, 'abort').length, 1, 'one listener serves every call');
      controller.abort(new Error('client disconnected'));
      assert.ok(
        (await settled).every((s) => s.status === 'rejected'),
        'every call was aborted',
      );
      await until(() => sim.served.engine.stats.running === 0);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        warnings.map((w) => w.name),
        [],
      );
    } finally {
      process.off('warning', onWarning);
      await engine.close();
    }
  });

  it('an unreachable upstream is a retryable 502', async () => {
    const engine = remote('http://127.0.0.1:9/v1');
    await assert.rejects(complete(engine, chat('hi', { model: 'm' }), ctx()), (e: { status: number; retryable: boolean }) => e.status === 502 && e.retryable);
    await engine.close();
  });
});

describe('remote engine and tool calls', () => {
  // A stream in vLLM's shape: the first piece of each call has its id and name, later pieces only arguments; two calls.
  const frame = (delta: object, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  const sse = [
    frame({ role: 'assistant', content: '' }),
    frame({ tool_calls: [{ id: 'chatcmpl-tool-a', type: 'function', index: 0, function: { name: 'get_weather' } }] }),
    frame({ tool_calls: [{ index: 0, function: { arguments: '{"city": "' } }] }),
    frame({ tool_calls: [{ index: 0, function: { arguments: 'Paris"}' } }] }),
    frame({ tool_calls: [{ id: 'chatcmpl-tool-b', type: 'function', index: 1, function: { name: 'get_time', arguments: '{}' } }] }),
    frame({ content: '' }, 'tool_calls'),
    `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 40, completion_tokens: 12, total_tokens: 52 } })}\n\n`,
    'data: [DONE]\n\n',
  ].join('');
  const whole = {
    id: 'chatcmpl-2',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [
      {
        index: 0,
        finish_reason: 'tool_calls',
        message: {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
        },
      },
    ],
  };
  const received: Record<string, unknown>[] = [];
  const requestIds: (string | string[] | undefined)[] = [];
  const upstream = createServer((req, res) => {
    let body = '';
    requestIds.push(req.headers['x-request-id']);
    req
      .on('data', (d) => (body += d))
      .on('end', () => {
        const parsed = JSON.parse(body) as Record<string, unknown>;
        received.push(parsed);
        if (parsed.stream) res.writeHead(200, { 'content-type': 'text/event-stream' }).end(sse);
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(whole));
      });
  });
  before(() => new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r)));
  after(() => upstream.close());

  const engine = () => new OpenAIEngine({ model: 'm', preset: 'vllm', baseUrl: `http://127.0.0.1:${(upstream.address() as { port: number }).port}/v1` });
  const conversation: ChatRequest = chat('', {
    model: 'm',
    input: {
      type: 'messages',
      messages: [
        {
          role: 'user',
          content: 'Weather in Paris?',
          parts: [
            { type: 'text', text: 'Weather in Paris?' },
            { type: 'image', url: 'https://example.com/sky.png', detail: 'low' },
          ],
        },
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_0', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
        { role: 'tool', content: '{"temperature":21}', toolCallId: 'call_0' },
      ],
    },
    tools: [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
    toolChoice: 'auto',
  });

  it('sends tools, images and the tool turns of a conversation in OpenAI form', async () => {
    const e = engine();
    await complete(e, { ...conversation, stream: false }, ctx());
    const sent = received.at(-1)!;
    assert.deepEqual(sent.tools, [
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
    ]);
    assert.equal(sent.tool_choice, 'auto');
    const messages = sent.messages as Record<string, unknown>[];
    assert.deepEqual(messages[0], {
      role: 'user',
      content: [
        { type: 'text', text: 'Weather in Paris?' },
        { type: 'image_url', image_url: { url: 'https://example.com/sky.png', detail: 'low' } },
      ],
    });
    assert.deepEqual(messages[1], {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    });
    assert.deepEqual(messages[2], { role: 'tool', content: '{"temperature":21}', tool_call_id: 'call_0' });
    await e.close();
  });

  it('assembles streamed tool calls, two of them, and ends the choice with tool_calls', async () => {
    const e = engine();
    const pieces: string[] = [];
    const chunks: ChatChunk[] = [];
    for await (const c of e.stream({ ...conversation, stream: true }, ctx())) {
      chunks.push(c);
      if (c.type === 'tool-call-delta') pieces.push(c.arguments);
    }
    assert.deepEqual(pieces, ['', '{"city": "', 'Paris"}', '{}'], 'each piece is handed on as it came');
    const result = await collect(
      (async function* () {
        yield* chunks;
      })(),
    );
    assert.deepEqual(result.choices[0]!.toolCalls, [
      { id: 'chatcmpl-tool-a', name: 'get_weather', arguments: '{"city": "Paris"}' },
      { id: 'chatcmpl-tool-b', name: 'get_time', arguments: '{}' },
    ]);
    assert.equal(result.choices[0]!.finishReason, 'tool_calls');
    assert.deepEqual(result.usage, { promptTokens: 40, completionTokens: 12, cachedPromptTokens: 0 });
    await e.close();
  });

  it('tells the upstream the request id, streamed or whole, so one id follows a call through both logs', async () => {
    const e = engine();
    await complete(e, { ...conversation, stream: false }, { signal: new AbortController().signal, requestId: 'req_whole' });
    for await (const _ of e.stream({ ...conversation, stream: true }, { signal: new AbortController().signal, requestId: 'req_stream' })) void _;
    assert.deepEqual(requestIds.slice(-2), ['req_whole', 'req_stream']);
    await e.close();
  });

  it("reads a whole answer's tool calls", async () => {
    const e = engine();
    const result = await e.complete({ ...conversation, stream: false }, ctx());
    assert.deepEqual(result.choices[0]!.toolCalls, [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }]);
    assert.equal(result.choices[0]!.text, '');
    assert.equal(result.choices[0]!.finishReason, 'tool_calls');
    await e.close();
  });
});

describe("the simulator server's fault control", () => {
  let sim: SimServer;
  const faults = async (body?: unknown) => {
    const res = await fetch(
      `${sim.url}/sim/faults`,
      body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
    );
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  before(async () => {
    sim = await serveSim({ preset: 'instant', outputTokens: 4, faults: { spikeRate: 0.5, spikeMs: 250, errorStatus: 503 } }, { port: 0 });
  });
  after(async () => {
    await sim.close();
  });

  it('shows the current faults, and a POST changes only the fields it names', async () => {
    const started = await faults();
    assert.equal(started.status, 200);
    assert.deepEqual(started.body, { errorRate: 0, errorStatus: 503, spikeRate: 0.5, spikeMs: 250, hangRate: 0, dropRate: 0, refuseRate: 0 });
    const changed = await faults({ errorRate: 1 });
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.body, { ...started.body, errorRate: 1 });
    assert.deepEqual((await faults()).body, changed.body);
    const res = await fetch(`${sim.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 503, 'the status set at start still applies to the errors turned on later');
    await res.body?.cancel();
    assert.deepEqual((await faults({ errorRate: 0, dropRate: 0.25 })).body, { ...started.body, dropRate: 0.25 });
  });

  it('refuses an unknown or out-of-range fault in OpenAI shape, changing nothing', async () => {
    const before = (await faults()).body;
    for (const body of [{ errorrate: 1 }, { errorRate: 2 }, { spikeMs: 'slow' }]) {
      const refused = await faults(body);
      assert.equal(refused.status, 400, JSON.stringify(body));
      assert.equal((refused.body as { error: { type: string } }).error.type, 'invalid_request_error');
    }
    assert.deepEqual((await faults()).body, before);
  });
});
