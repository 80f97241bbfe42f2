// The watched stream every ChatModel layer passes chunks through: it must end, fail and close exactly as the async
// generator it replaces did, or ledger rows, metrics and replica counts go wrong.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { precededBy, watchStream } from '../../src/core/index.js';

/** A source that records what happened to it, as a replica's stream would (its finally frees the upstream call). */
function source(items: number[], failAt?: number) {
  const log: string[] = [];
  async function* gen() {
    try {
      for (let i = 0; i < items.length; i++) {
        if (i === failAt) throw new Error(`failed at ${i}`);
        yield items[i]!;
      }
    } finally {
      log.push('source closed');
    }
  }
  return { log, gen };
}

describe('watchStream', () => {
  it('passes every item in order, then ends once, before the reader sees the end', async () => {
    const { log, gen } = source([1, 2, 3]);
    const seen: number[] = [];
    const stream = watchStream(gen(), {
      item: (n) => void seen.push(n),
      ended: async (how) => {
        await new Promise((r) => setImmediate(r));
        log.push(`ended ${how}`);
      },
    });
    const read: number[] = [];
    for await (const n of stream) read.push(n);
    log.push('reader done');
    assert.deepEqual(read, [1, 2, 3]);
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual(log, ['source closed', 'ended done', 'reader done']);
  });

  it('a reader that stops early closes the source and ends with return', async () => {
    const { log, gen } = source([1, 2, 3]);
    const stream = watchStream(gen(), { ended: (how) => void log.push(`ended ${how}`) });
    for await (const n of stream) if (n === 2) break;
    assert.deepEqual(log, ['source closed', 'ended return']);
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
    assert.deepEqual(log, ['source closed', 'ended return'], 'ends once');
  });

  it('an item the watcher marks last ends the stream after it and closes the source', async () => {
    const { log, gen } = source([1, 2, 3]);
    const read: number[] = [];
    for await (const n of watchStream(gen(), { item: (n) => n === 2, ended: (how) => void log.push(`ended ${how}`) })) read.push(n);
    assert.deepEqual(read, [1, 2]);
    assert.deepEqual(log, ['source closed', 'ended done']);
  });

  it('a failure reaches the reader, after the watcher has ended with it', async () => {
    const { log, gen } = source([1, 2, 3], 1);
    const read: number[] = [];
    const stream = watchStream(gen(), { ended: (how, error) => void log.push(`ended ${how}: ${(error as Error).message}`) });
    await assert.rejects(async () => {
      for await (const n of stream) read.push(n);
    }, /failed at 1/);
    assert.deepEqual(read, [1]);
    assert.deepEqual(log, ['source closed', 'ended error: failed at 1']);
  });

  it('a failure the watcher turns into an item ends the stream with that item', async () => {
    const { log, gen } = source([1, 2, 3], 2);
    const read: number[] = [];
    for await (const n of watchStream(gen(), { failed: () => -1, ended: (how) => void log.push(`ended ${how}`) })) read.push(n);
    assert.deepEqual(read, [1, 2, -1]);
    assert.deepEqual(log, ['source closed', 'ended done']);
  });

  it('opens on the first read; a stream never read opens nothing, and a failure to open ends nothing', async () => {
    let opened = 0;
    const ended: string[] = [];
    const open = () => {
      opened++;
      return source([1]).gen();
    };
    const unread = watchStream(open, { ended: (how) => void ended.push(how) });
    assert.equal(opened, 0);
    await unread.return?.();
    assert.equal(opened, 0);
    assert.equal(ended.length, 0);

    const refused = watchStream<number>(
      async () => {
        throw new Error('no admission');
      },
      { ended: (how) => void ended.push(how) },
    );
    await assert.rejects(refused.next(), /no admission/);
    assert.equal(ended.length, 0, 'nothing was opened, so nothing ended');

    const read: number[] = [];
    for await (const n of watchStream(open, {})) read.push(n);
    assert.equal(opened, 1);
    assert.deepEqual(read, [1]);
  });
});

// A read that never comes would leave release() waiting: 30 s, far past what these in-memory steps take, fails it instead.
describe('watchStream, read and left at once (as a fan-out of n choices does)', { timeout: 30_000 }, () => {
  /** A source whose reads each wait until `release` is called, as an upstream's next token does. */
  function slowSource() {
    const log: string[] = [];
    const waiting: (() => void)[] = [];
    async function* gen() {
      try {
        for (let i = 1; i <= 3; i++) {
          await new Promise<void>((r) => waiting.push(r));
          yield i;
        }
      } finally {
        log.push('source closed');
      }
    }
    const release = async () => {
      while (waiting.length === 0) await new Promise((r) => setImmediate(r));
      waiting.shift()!();
    };
    return { log, gen, release };
  }

  it('a return() while a read is pending waits for it, closes the source, and ends once', async () => {
    const { log, gen, release } = slowSource();
    const stream = watchStream(gen(), { ended: (how) => void log.push(`ended ${how}`) });
    assert.deepEqual(await Promise.all([stream.next(), release()]).then(([r]) => r), { done: false, value: 1 });
    const pending = stream.next();
    const left = stream.return?.();
    await release();
    assert.deepEqual(await pending, { done: false, value: 2 }, 'the pending read gets its item');
    await left;
    assert.deepEqual(log, ['source closed', 'ended return']);
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
    assert.deepEqual(log, ['source closed', 'ended return'], 'ended once');
  });

  it('reads made at once are served in order, the first one opening the stream', async () => {
    const { gen, release } = slowSource();
    let opened = 0;
    const stream = watchStream(async () => {
      opened++;
      return gen();
    }, {});
    const reads = [stream.next(), stream.next()];
    await release();
    await release();
    assert.deepEqual(await Promise.all(reads), [
      { done: false, value: 1 },
      { done: false, value: 2 },
    ]);
    assert.equal(opened, 1);
  });

  it('a return() during the opening closes what was opened, once it is', async () => {
    const { log, gen, release } = slowSource();
    let admit!: () => void;
    const stream = watchStream(
      async () => {
        await new Promise<void>((r) => (admit = r));
        return gen();
      },
      { ended: (how) => void log.push(`ended ${how}`) },
    );
    const first = stream.next();
    const left = stream.return?.();
    admit();
    await release();
    assert.deepEqual(await first, { done: false, value: 1 });
    await left;
    assert.deepEqual(log, ['source closed', 'ended return']);
  });

  it('a return() after a failed opening ends nothing', async () => {
    const ended: string[] = [];
    const refused = watchStream<number>(
      async () => {
        throw new Error('no admission');
      },
      { ended: (how) => void ended.push(how) },
    );
    await assert.rejects(refused.next(), /no admission/);
    await refused.return?.();
    assert.equal(ended.length, 0, `nothing ended: ${ended.join(', ')}`);
  });

  it("a watcher's own failure reaches the reader, closes the source and ends with the error", async () => {
    const { log, gen } = source([1, 2, 3]);
    const stream = watchStream(gen(), {
      item: (n) => {
        if (n === 2) throw new Error('watcher broke');
        return undefined;
      },
      ended: (how, error) => void log.push(`ended ${how}: ${(error as Error).message}`),
    });
    assert.deepEqual(await stream.next(), { done: false, value: 1 });
    await assert.rejects(stream.next(), /watcher broke/);
    assert.deepEqual(log, ['source closed', 'ended error: watcher broke']);
  });
});

describe('precededBy', () => {
  it('hands on the items read ahead, then the rest; leaving early closes the rest', async () => {
    const { log, gen } = source([2, 3, 4]);
    const rest = gen();
    const read: number[] = [];
    for await (const n of precededBy([0, 1], rest)) {
      read.push(n);
      if (n === 3) break;
    }
    assert.deepEqual(read, [0, 1, 2, 3]);
    assert.deepEqual(log, ['source closed']);
  });
});
