// The simulator's timing, cache and faults, and the remote engine's mapping of what an upstream does.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { complete, type ChatRequest } from '../../src/core/index.js';
import { SimEngine } from '../../src/engines/sim/index.js';
import { OpenAIEngine } from '../../src/engines/openai/index.js';
import { serveSim, type SimServer } from '../../src/server/index.js';

const ctx = () => ({ signal: new AbortController().signal, requestId: 't' });
const chat = (content: string, over: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'sim', input: { type: 'messages', messages: [{ role: 'user', content }] }, stop: [], responseFormat: { type: 'text' }, n: 1, ...over,
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
    let usage;
    for await (const c of engine.stream(chat('hi', { model: 'm', maxTokens: 5 }), ctx())) {
      if (c.type === 'text-delta') deltas.push(c.text);
      if (c.type === 'usage') usage = c.usage;
    }
    assert.equal(deltas.length, 5);
    assert.deepEqual(usage, { promptTokens: 2, completionTokens: 5, cachedPromptTokens: 0 });
    await engine.close();
  });

  it('maps an upstream 429 to a rate limit error carrying Retry-After', async () => {
    const addr = stub.address() as { port: number };
    const engine = remote(`http://127.0.0.1:${addr.port}/v1`);
    await assert.rejects(complete(engine, chat('hi', { model: 'm' }), ctx()), (e: { status: number; retryAfter: number; code: string }) =>
      e.status === 429 && e.retryAfter === 7 && e.code === 'upstream_rate_limited');
    assert.equal(await engine.probe(AbortSignal.timeout(1000)), true);
    await engine.close();
  });

  it("aborts the upstream request when the caller goes away", async () => {
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
    assert.ok(whole.choices[0]!.text.length > 0);
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

  it('an unreachable upstream is a retryable 502', async () => {
    const engine = remote('http://127.0.0.1:9/v1');
    await assert.rejects(complete(engine, chat('hi', { model: 'm' }), ctx()), (e: { status: number; retryable: boolean }) => e.status === 502 && e.retryable);
    await engine.close();
  });
});
