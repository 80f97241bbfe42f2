// The pure parts under the engine: stop sequences, prefix choice, admission queue, and n-choice fan-out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StopBuffer, pickByLongestPrefix, reusableTokens } from '../../src/engines/llama/index.js';
import { BoundedPool } from '../../src/scheduler/index.js';
import { type AutoglmError, complete, withChoices, type ChatChunk, type ChatModel, type ChatRequest } from '../../src/core/index.js';

describe('StopBuffer', () => {
  const run = (stops: string[], pieces: string[]) => {
    const buffer = new StopBuffer(stops);
    let out = '';
    let stopped = false;
    for (const p of pieces) {
      const step = buffer.push(p);
      out += step.emit;
      stopped ||= step.stopped;
      if (stopped) break;
    }
    return { out: out + buffer.flush(), stopped };
  };

  it('cuts at a stop string split across pieces and hides it', () => {
    assert.deepEqual(run(['<|im_end|>'], ['Hello', ' wor', 'ld<|im', '_end|>more']), { out: 'Hello world', stopped: true });
  });

  it('releases held text that turned out not to be a stop string', () => {
    assert.deepEqual(run(['END'], ['the E', 'NV is', ' set']), { out: 'the ENV is set', stopped: false });
  });

  it('picks the earliest of several stops', () => {
    assert.deepEqual(run(['b', 'cd'], ['acdb']), { out: 'a', stopped: true });
  });

  it('holds back nothing when there are no stops', () => {
    const buffer = new StopBuffer([]);
    assert.equal(buffer.push('abc').emit, 'abc');
  });
});

describe('prefix reuse', () => {
  it('prefers the sequence sharing the longest prefix, then the emptiest', () => {
    const free = [
      { id: 0, cachedTokens: [1, 2, 9, 9] },
      { id: 1, cachedTokens: [1, 2, 3, 4, 5] },
      { id: 2, cachedTokens: [] },
    ];
    assert.equal(pickByLongestPrefix(free, [1, 2, 3, 4, 7]).id, 1);
    assert.equal(pickByLongestPrefix(free, [8, 8]).id, 2, 'a cold prompt does not evict a warm cache');
  });

  it('always re-evaluates the last prompt token', () => {
    assert.equal(reusableTokens([1, 2, 3], [1, 2, 3]), 2);
    assert.equal(reusableTokens([1, 2, 3, 4], [1, 2, 5]), 2);
    assert.equal(reusableTokens([], [1]), 0);
  });
});

describe('BoundedPool', () => {
  const pool = () => new BoundedPool<string, number>(['a', 'b'], { maxQueue: 1, choose: (free) => free[0]!, retryAfterSeconds: 3 });

  it('hands out free resources, queues one waiter, and refuses the next with 429', async () => {
    const p = pool();
    const signal = new AbortController().signal;
    const [a, b] = [await p.acquire(0, signal), await p.acquire(0, signal)];
    assert.deepEqual([a, b], ['a', 'b']);
    const waiting = p.acquire(0, signal);
    assert.equal(p.queueDepth, 1);
    await assert.rejects(p.acquire(0, signal), (err: AutoglmError) => err.status === 429 && err.retryAfter === 3);
    p.release(a);
    assert.equal(await waiting, 'a');
    assert.equal(p.busy, 2);
  });

  it('drops a waiter whose caller gave up', async () => {
    const p = pool();
    const signal = new AbortController().signal;
    await p.acquire(0, signal);
    await p.acquire(0, signal);
    const gone = new AbortController();
    const waiting = p.acquire(0, gone.signal);
    gone.abort(new Error('client left'));
    await assert.rejects(waiting, /client left/);
    assert.equal(p.queueDepth, 0);
  });

  it('serves waiters by priority, then in arrival order', async () => {
    const p = new BoundedPool<string, string>(['slot'], { maxQueue: 10, choose: (free) => free[0]! });
    const signal = new AbortController().signal;
    const held = await p.acquire('first', signal);
    const order: string[] = [];
    const wait = (name: string, priority: number) =>
      p.acquire(name, signal, priority).then((slot) => {
        order.push(name);
        p.release(slot);
      });
    const all = [wait('low', -1), wait('normal-1', 0), wait('high', 5), wait('normal-2', 0)];
    p.release(held);
    await Promise.all(all);
    assert.deepEqual(order, ['high', 'normal-1', 'normal-2', 'low']);
  });
});

describe('withChoices', () => {
  /** A scripted model: the text is its seed, so each choice is identifiable. */
  const scripted: ChatModel = {
    models: () => [],
    async *stream(req): AsyncGenerator<ChatChunk> {
      assert.equal(req.n, 1);
      yield { type: 'text-delta', index: 0, text: `seed=${req.seed}` };
      yield { type: 'finish', index: 0, reason: 'stop' };
      yield { type: 'usage', usage: { promptTokens: 10, completionTokens: 3, cachedPromptTokens: 4 } };
    },
  };
  const req: ChatRequest = { model: 'm', input: { type: 'text', text: 'x' }, stop: [], responseFormat: { type: 'text' }, n: 3, seed: 40 };

  it('runs n choices with distinct seeds and counts the prompt once', async () => {
    const result = await complete(withChoices(scripted), req, { signal: new AbortController().signal, requestId: 't' });
    assert.deepEqual(
      result.choices.map((c) => c.text),
      ['seed=40', 'seed=41', 'seed=42'],
    );
    assert.deepEqual(result.usage, { promptTokens: 10, completionTokens: 9, cachedPromptTokens: 4 });
  });
});
