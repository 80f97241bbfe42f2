// The embedding pool over a model's replicas: failover on a retryable failure, none on a client error, breakers and
// load counts shared with chat, and only replicas whose engine embeds are used.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutoglmError, invalidRequest, seededRandom, systemClock, type CallContext, type EmbeddingModel, type ModelInfo } from '../../src/core/index.js';
import { EmbeddingPool, leastOutstanding, Replica, type ReplicaEngine } from '../../src/router/index.js';

const ctx = (): CallContext & { report: { headers: Record<string, string>; replica?: string } } => ({
  signal: new AbortController().signal,
  requestId: 'r',
  report: { headers: {} },
});

/** A replica whose engine embeds by `embed` (or does not embed at all), counting its calls. */
function replica(id: string, embed?: () => Promise<number[]>) {
  const calls = { n: 0 };
  const chat = { models: (): ModelInfo[] => [], stream: async function* () {} };
  const embeddings: EmbeddingModel | undefined = embed && {
    models: () => [{ id: 'm', ownedBy: id, created: 0, dimensions: 2 }],
    async embed(req) {
      calls.n++;
      return { vectors: await Promise.all(req.inputs.map(() => embed())), usage: { promptTokens: req.inputs.length } };
    },
  };
  const engine: ReplicaEngine & { embeddings?: EmbeddingModel } = embeddings ? { ...chat, embeddings } : chat;
  return { replica: new Replica(id, engine, 1, { failureThreshold: 2, openMs: 60_000 }, systemClock), calls };
}

const pool = (...replicas: Replica[]) =>
  new EmbeddingPool({
    model: 'm',
    replicas,
    policy: leastOutstanding(seededRandom(1)),
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    clock: systemClock,
    random: seededRandom(2),
  });

const failing = (status: number) => () => Promise.reject(new AutoglmError(status, 'server_error', 'x', `failed with ${status}`));

describe('EmbeddingPool', () => {
  it('fails over from a broken replica, and its breaker opens after enough failures', async () => {
    const broken = replica('broken', failing(502));
    const good = replica('good', async () => [1, 0]);
    const p = pool(broken.replica, good.replica);
    for (let i = 0; i < 6; i++) {
      const c = ctx();
      const result = await p.embed({ model: 'm', inputs: ['a', 'b'] }, c);
      assert.deepEqual(result.vectors, [
        [1, 0],
        [1, 0],
      ]);
      assert.equal(c.report.replica, 'good');
    }
    assert.ok(broken.calls.n >= 2, `the broken replica was tried: ${broken.calls.n}`);
    assert.equal(broken.replica.breaker.state, 'open');
    assert.equal(broken.replica.outstanding + good.replica.outstanding, 0, 'every attempt was settled');
  });

  it('does not retry a client error, nor count it against the replica', async () => {
    const refusing = replica('refusing', () => Promise.reject(invalidRequest('too long', 'input')));
    const other = replica('other', async () => [0, 1]);
    const p = pool(refusing.replica);
    await assert.rejects(p.embed({ model: 'm', inputs: ['a'] }, ctx()), (err: AutoglmError) => err.status === 400 && err.param === 'input');
    assert.equal(refusing.calls.n, 1);
    assert.equal(refusing.replica.breaker.state, 'closed');
    assert.equal(other.calls.n, 0);
  });

  it('uses only replicas that embed, and says 503 when none can take the call', async () => {
    const chatOnly = replica('chat-only');
    assert.equal(pool(chatOnly.replica).embeds, false, 'a pool of replicas that cannot embed does not embed');
    const down = replica('down', failing(500));
    const p = pool(chatOnly.replica, down.replica);
    assert.equal(p.embeds, true);
    assert.deepEqual(
      p.models().map((m) => [m.id, m.dimensions]),
      [['m', 2]],
    );
    // Its second failure opens its breaker, so the third attempt finds no replica, and neither does the next call.
    const none = (err: AutoglmError) => err.status === 503 && err.code === 'no_replica_available';
    await assert.rejects(p.embed({ model: 'm', inputs: ['a'] }, ctx()), none);
    assert.equal(down.calls.n, 2);
    await assert.rejects(p.embed({ model: 'm', inputs: ['a'] }, ctx()), none);
    assert.equal(down.calls.n, 2, 'an open breaker lets nothing through');
  });
});
