// The set of embedded models under a hand-driven clock: load on demand, waiting on a load, keep-alive unloads,
// eviction of the least recently used idle model, never of one in use, and the 503 when no room comes in time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutoglmError, type CallContext, type ChatChunk, type ChatRequest, type Clock, type EmbeddingModel } from '../../src/core/index.js';
import { engineSettingsSchema } from '../../src/config/index.js';
import { LoadedModelSet, type ModelSetOptions, type SetEngine, type SetMember } from '../../src/engines/llama/index.js';

/** A clock that moves only when told to. */
class HandClock implements Clock {
  private t = 0;
  private timers: { at: number; fire: () => void }[] = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = { at: this.t + ms, fire: resolve };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(signal.reason);
      });
    });
  }
  async advance(ms: number): Promise<void> {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const x of due) x.fire();
    await settle();
  }
}

const settle = () => new Promise((r) => setImmediate(r));

/** Resolves when released by hand: a load or an answer that takes as long as the test wants. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

/** A stand-in engine: answers its own name, after `answerGate` when one is given; counts its disposals. */
function fakeEngine(name: string, log: string[], answerGate?: () => Promise<void>): SetEngine {
  const embeddings: EmbeddingModel = {
    models: () => [{ id: name, ownedBy: 'test', created: 0, dimensions: 4, shortenable: false }],
    embed: async () => ({ vectors: [[1, 0, 0, 0]], usage: { promptTokens: 1 } }),
  };
  return {
    embeddings,
    stats: { parallel: 1, busySequences: 0, queueDepth: 0, predictedValidated: 0, predictedRefuted: 0 },
    description: {
      name,
      path: `/models/${name}.gguf`,
      contextSize: 256,
      settings: engineSettingsSchema.parse({}),
      gpu: 'off',
      effective: {
        gpuLayers: 0,
        flashAttention: 'auto',
        kvCacheKeyType: 'f16',
        kvCacheValueType: 'f16',
        batchSize: 512,
        mmap: true,
        mlock: false,
        speculative: 'off',
      },
      warnings: [],
    },
    models: () => [{ id: name, ownedBy: 'autoglm', created: 0, contextSize: 256 }],
    async *stream(): AsyncGenerator<ChatChunk> {
      await answerGate?.();
      yield { type: 'text-delta', index: 0, text: name };
      yield { type: 'finish', index: 0, reason: 'stop' };
    },
    async dispose() {
      log.push(`dispose ${name}`);
    },
  };
}

interface Harness {
  set: LoadedModelSet;
  clock: HandClock;
  log: string[];
  /** Loads wait on these when present. */
  loadGates: Map<string, Promise<void>>;
  answerGates: Map<string, () => Promise<void>>;
  failNext: Set<string>;
}

function harness(names: string[], options: Partial<ModelSetOptions> = {}): Harness {
  const clock = new HandClock();
  const log: string[] = [];
  const loadGates = new Map<string, Promise<void>>();
  const answerGates = new Map<string, () => Promise<void>>();
  const failNext = new Set<string>();
  const members: SetMember[] = names.map((name) => ({
    name,
    bytes: 100,
    async load() {
      log.push(`load ${name}`);
      await loadGates.get(name);
      if (failNext.delete(name)) throw new Error(`cannot load ${name}`);
      return fakeEngine(name, log, () => answerGates.get(name)?.() ?? Promise.resolve());
    },
  }));
  const set = new LoadedModelSet(members, {
    keepAliveSeconds: 300,
    maxLoadedModels: 3,
    clock,
    onLoaded: (name) => log.push(`loaded ${name}`),
    onUnloaded: (name, reason) => log.push(`unloaded ${name} ${reason}`),
    ...options,
  });
  return { set, clock, log, loadGates, answerGates, failNext };
}

const request = (model: string): ChatRequest => ({
  model,
  input: { type: 'text', text: 'Once' },
  stop: [],
  responseFormat: { type: 'text' },
  n: 1,
});
const context = (signal = new AbortController().signal, deadline?: number): CallContext => ({ signal, requestId: 't', deadline });

async function answer(set: LoadedModelSet, model: string, ctx = context()): Promise<string> {
  let text = '';
  for await (const chunk of set.stream(request(model), ctx)) if (chunk.type === 'text-delta') text += chunk.text;
  return text;
}

const status = (set: LoadedModelSet) => Object.fromEntries(set.models().map((m) => [m.id, m.status]));

describe('LoadedModelSet', () => {
  it('lists every model unloaded, loads one on its first request, and answers with it', async () => {
    const { set, log } = harness(['a', 'b']);
    assert.deepEqual(status(set), { a: 'unloaded', b: 'unloaded' });
    assert.equal(await answer(set, 'b'), 'b');
    assert.deepEqual(status(set), { a: 'unloaded', b: 'loaded' });
    assert.deepEqual(log, ['load b', 'loaded b']);
    assert.equal(set.models()[1]!.contextSize, 256, 'the context size is learned from the loaded engine');
    await set.dispose();
  });

  it('a request for a model that is loading waits for it and is answered; the model loads once', async () => {
    const { set, log, loadGates } = harness(['a']);
    const loading = gate();
    loadGates.set('a', loading.opened);
    const first = answer(set, 'a');
    const second = answer(set, 'a');
    await settle();
    assert.deepEqual(status(set), { a: 'loading' });
    loading.open();
    assert.deepEqual(await Promise.all([first, second]), ['a', 'a']);
    assert.deepEqual(log, ['load a', 'loaded a']);
    await set.dispose();
  });

  it('unloads a model idle for the keep-alive, and loads it again on the next request', async () => {
    const { set, clock, log } = harness(['a'], { keepAliveSeconds: 2 });
    await answer(set, 'a');
    await clock.advance(1999);
    assert.deepEqual(status(set), { a: 'loaded' }, 'still within its keep-alive');
    await clock.advance(1);
    assert.deepEqual(status(set), { a: 'unloaded' });
    assert.equal(await answer(set, 'a'), 'a');
    assert.deepEqual(log, ['load a', 'loaded a', 'unloaded a idle', 'dispose a', 'load a', 'loaded a']);
    await set.dispose();
  });

  it('a request restarts the keep-alive; one in flight keeps its model however long it takes', async () => {
    const { set, clock, answerGates } = harness(['a'], { keepAliveSeconds: 2 });
    await answer(set, 'a');
    await clock.advance(1500);
    const slow = gate();
    answerGates.set('a', () => slow.opened);
    const running = answer(set, 'a');
    await settle();
    await clock.advance(10_000);
    assert.deepEqual(status(set), { a: 'loaded' }, 'not unloaded under a running request');
    slow.open();
    await running;
    await clock.advance(1999);
    assert.deepEqual(status(set), { a: 'loaded' }, 'the keep-alive counts from the end of the last request');
    await clock.advance(1);
    assert.deepEqual(status(set), { a: 'unloaded' });
    await set.dispose();
  });

  it('keep-alive -1 never unloads', async () => {
    const { set, clock } = harness(['a'], { keepAliveSeconds: -1 });
    await answer(set, 'a');
    await clock.advance(365 * 86_400_000);
    assert.deepEqual(status(set), { a: 'loaded' });
    await set.dispose();
  });

  it('with room for one, asking for b evicts idle a, and a comes back when asked for', async () => {
    const { set, log } = harness(['a', 'b'], { maxLoadedModels: 1 });
    await answer(set, 'a');
    assert.equal(await answer(set, 'b'), 'b');
    assert.deepEqual(status(set), { a: 'unloaded', b: 'loaded' });
    assert.equal(await answer(set, 'a'), 'a');
    assert.deepEqual(log, [
      'load a',
      'loaded a',
      'unloaded a evicted',
      'dispose a',
      'load b',
      'loaded b',
      'unloaded b evicted',
      'dispose b',
      'load a',
      'loaded a',
    ]);
    await set.dispose();
  });

  it('the least recently used idle model is the one evicted', async () => {
    const { set, clock, log } = harness(['a', 'b', 'c'], { maxLoadedModels: 2 });
    await answer(set, 'a');
    await clock.advance(10);
    await answer(set, 'b');
    await clock.advance(10);
    await answer(set, 'a');
    await answer(set, 'c');
    assert.deepEqual(status(set), { a: 'loaded', b: 'unloaded', c: 'loaded' });
    assert.ok(log.includes('unloaded b evicted'), `b was evicted: ${log.join(', ')}`);
    await set.dispose();
  });

  it('a model with a request in flight is never evicted: the request for another waits, then evicts it', async () => {
    const { set, log, answerGates } = harness(['a', 'b'], { maxLoadedModels: 1 });
    await answer(set, 'a');
    const slow = gate();
    answerGates.set('a', () => slow.opened);
    const onA = answer(set, 'a');
    await settle();
    const onB = answer(set, 'b');
    await settle();
    assert.deepEqual(status(set), { a: 'loaded', b: 'unloaded' }, 'a stays while its request runs; b waits');
    assert.ok(!log.includes('load b'), 'b is not loaded beside a busy a');
    slow.open();
    assert.deepEqual(await Promise.all([onA, onB]), ['a', 'b']);
    assert.deepEqual(status(set), { a: 'unloaded', b: 'loaded' });
    await set.dispose();
  });

  it('when no model becomes idle in time, the waiting request gets a 503 with Retry-After', async () => {
    const { set, clock, answerGates } = harness(['a', 'b'], { maxLoadedModels: 1, roomWaitMs: 5000 });
    await answer(set, 'a');
    const slow = gate();
    answerGates.set('a', () => slow.opened);
    const onA = answer(set, 'a');
    await settle();
    const onB = answer(set, 'b');
    // Its rejection is asserted below, after the clock moves; until then it must not count as unhandled.
    onB.catch(() => undefined);
    await settle();
    await clock.advance(5000);
    await assert.rejects(onB, (err: unknown) => {
      assert.ok(err instanceof AutoglmError, 'an AutoglmError');
      assert.equal(err.status, 503);
      assert.equal(err.code, 'models_busy');
      assert.ok(err.retryAfter && err.retryAfter > 0, 'with Retry-After');
      assert.match(err.message, /'b'.*--max-loaded-models/);
      return true;
    });
    slow.open();
    assert.equal(await onA, 'a');
    await set.dispose();
  });

  it('a caller that gives up while waiting for its model stops waiting; the load goes on for the others', async () => {
    const { set, loadGates } = harness(['a']);
    const loading = gate();
    loadGates.set('a', loading.opened);
    const abort = new AbortController();
    const gaveUp = answer(set, 'a', context(abort.signal));
    const stayed = answer(set, 'a');
    await settle();
    abort.abort(new Error('client went away'));
    await assert.rejects(gaveUp, /client went away/);
    loading.open();
    assert.equal(await stayed, 'a');
    await set.dispose();
  });

  it('a failed load fails the requests waiting on it; the next request tries again', async () => {
    const { set, failNext } = harness(['a']);
    failNext.add('a');
    await assert.rejects(answer(set, 'a'), /cannot load a/);
    assert.deepEqual(status(set), { a: 'unloaded' });
    assert.equal(await answer(set, 'a'), 'a');
    await set.dispose();
  });

  it('embeds through the same members, loading on demand, and lists what the loaded model told', async () => {
    const { set } = harness(['a']);
    assert.equal(set.embeddings.models()[0]!.dimensions, undefined, 'unknown before the first load');
    const result = await set.embeddings.embed({ model: 'a', inputs: ['x'] }, context());
    assert.deepEqual(result.vectors, [[1, 0, 0, 0]]);
    assert.equal(set.embeddings.models()[0]!.dimensions, 4);
    assert.equal(set.embeddings.models()[0]!.status, 'loaded');
    await set.dispose();
  });

  it('closing while a model loads frees it once loaded, and its waiting request gets a 503', async () => {
    const { set, log, loadGates } = harness(['a']);
    const loading = gate();
    loadGates.set('a', loading.opened);
    const waiting = answer(set, 'a');
    waiting.catch(() => undefined);
    await settle();
    const closed = set.dispose();
    loading.open();
    await closed;
    await assert.rejects(waiting, (err: unknown) => err instanceof AutoglmError && err.status === 503 && err.code === 'shutting_down');
    assert.ok(log.includes('dispose a'), `the engine loaded late is freed: ${log.join(', ')}`);
    assert.deepEqual(status(set), { a: 'unloaded' });
  });

  it('an unknown name is a 404 naming the models served', async () => {
    const { set } = harness(['a', 'b']);
    await assert.rejects(answer(set, 'zzz'), (err: unknown) => err instanceof AutoglmError && err.status === 404 && /a, b/.test(err.message));
    await set.dispose();
  });
});
