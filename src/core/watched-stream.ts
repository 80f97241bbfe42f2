// A layer that only watches a stream pass (counts, timers, bookkeeping) without an async generator of its own.
//
// Why by hand: an async generator layer allocates a request, two promises and an iterator result for every item it
// passes on. Between an upstream and the client's socket a relayed chunk crosses eight such layers (engine, replica,
// pool, reload, tenancy, metrics, ...): measured, that was half of what a relayed chunk allocated, and the scavenges
// it caused promoted the chunks still in flight into the old heap. A watched stream hands the source's own result on,
// at one promise per item. No library does this; Node's stream adapters are heavier still.

/** What a layer does as the stream passes. Each hook runs on the reader's turn, as a generator's body would. */
export interface StreamWatch<T> {
  /** Sees each item before the reader does. Returning true makes it the last: the source is closed after it. */
  item?(value: T): boolean | undefined;
  /**
   * The source threw. Return an item to end the stream with (an error chunk), or undefined to end it quietly, or
   * throw (rethrow) to hand the failure to the reader. Without this hook the failure is handed on.
   */
  failed?(error: unknown): T | undefined;
  /**
   * Once, however the stream ended, if it was ever opened: read to the end, failed, or left early by the reader
   * (`return`, when it stopped reading or ended its loop). The reader's last call waits on a promise it returns.
   */
  ended?(how: 'done' | 'error' | 'return', error?: unknown): unknown;
}

/** The stream to watch, or how to open it on the first read (which may wait: an admission, a failover). */
export type StreamSource<T> = AsyncIterable<T> | (() => AsyncIterable<T> | Promise<AsyncIterable<T>>);

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * `source` passed through `watch`. Read it one item at a time (a `for await` loop does), as with a generator. It
 * opens lazily, as a generator's body starts at its first read: a stream that is never read opens nothing.
 */
export function watchStream<T>(source: StreamSource<T>, watch: StreamWatch<T>): AsyncIterableIterator<T> {
  return new WatchedStream(source, watch);
}

class WatchedStream<T> implements AsyncIterableIterator<T> {
  private source: AsyncIterator<T> | undefined;
  private opened = false;
  private finished = false;
  private endedOnce = false;
  /**
   * The read under way, if any. A generator queues a call made while another is pending; so does this: a fan-out of
   * n choices calls return() on a choice whose next() is still waiting, and that return must come after it.
   */
  private reading: Promise<IteratorResult<T>> | undefined;
  /** What the next read ends the stream with: after a last item, after an item standing in for a failure. */
  private pendingEnd: { how: 'done' | 'error'; error?: unknown; close: boolean } | undefined;

  constructor(
    private readonly open: StreamSource<T>,
    private readonly watch: StreamWatch<T>,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.reading) return this.after(this.reading).then(() => this.next());
    const read = this.read();
    this.reading = read;
    return read;
  }

  async return(value?: unknown): Promise<IteratorResult<T>> {
    const done = { done: true as const, value: value as T };
    while (this.reading) await this.after(this.reading);
    if (this.finished || !this.opened) {
      this.finished = true;
      return done;
    }
    if (this.pendingEnd) {
      await this.endPending();
      return done;
    }
    const source = this.source;
    this.source = undefined;
    this.finished = true;
    try {
      await source?.return?.();
    } finally {
      await this.end('return');
    }
    return done;
  }

  /** Settles once `read` has, whichever way, and no sooner. */
  private after(read: Promise<unknown>): Promise<void> {
    return read.then(
      () => undefined,
      () => undefined,
    );
  }

  private read(): Promise<IteratorResult<T>> {
    const source = this.source;
    if (source && !this.pendingEnd) return source.next().then(this.onResult, this.onFailure);
    if (this.pendingEnd) return this.settled(this.endPending().then(() => DONE));
    if (this.finished || this.opened) return this.settled(Promise.resolve(DONE));
    this.opened = true;
    return this.settled(this.start());
  }

  /** `read` with the read under way cleared once it settles. */
  private settled(read: Promise<IteratorResult<T>>): Promise<IteratorResult<T>> {
    return read.then(
      (result) => {
        this.reading = undefined;
        return result;
      },
      (err: unknown) => {
        this.reading = undefined;
        throw err;
      },
    );
  }

  private async start(): Promise<IteratorResult<T>> {
    const open = this.open;
    let iterable: AsyncIterable<T>;
    try {
      iterable = typeof open === 'function' ? await open() : open;
    } catch (err) {
      // A failure to open (a refused admission, no replica) goes to the reader as the generator's would: nothing was
      // opened, so nothing ends, not even on a return() after it.
      this.finished = true;
      throw err;
    }
    this.source = iterable[Symbol.asyncIterator]();
    return this.source.next().then(this.onResult, this.onFailure);
  }

  // The read under way is cleared as its result is handed over: at once for an item, after the ending for the end.
  private readonly onResult = (result: IteratorResult<T>): IteratorResult<T> | Promise<IteratorResult<T>> => {
    if (result.done) return this.end('done').then(this.endRead);
    let last: boolean | undefined;
    try {
      last = this.watch.item?.(result.value);
    } catch (err) {
      // A watcher's own failure ends the stream as the source's would, and the source is closed.
      this.pendingEnd = { how: 'error', error: err, close: true };
      return this.endPending().then(() => this.failRead(err));
    }
    if (last === true) this.pendingEnd = { how: 'done', close: true };
    this.reading = undefined;
    return result;
  };

  private readonly onFailure = (error: unknown): Promise<IteratorResult<T>> => {
    this.source = undefined;
    let standIn: T | undefined;
    try {
      standIn = this.watch.failed ? this.watch.failed(error) : rethrow(error);
    } catch (err) {
      return this.end('error', err).then(() => this.failRead(err));
    }
    if (standIn === undefined) return this.end('done').then(this.endRead);
    this.pendingEnd = { how: 'done', close: false };
    this.reading = undefined;
    return Promise.resolve({ done: false, value: standIn });
  };

  private readonly endRead = (): IteratorReturnResult<undefined> => {
    this.reading = undefined;
    return DONE;
  };

  private failRead(err: unknown): never {
    this.reading = undefined;
    throw err;
  }

  private async endPending(): Promise<void> {
    const pending = this.pendingEnd!;
    this.pendingEnd = undefined;
    const source = this.source;
    this.source = undefined;
    try {
      if (pending.close) await source?.return?.();
    } finally {
      await this.end(pending.how, pending.error);
    }
  }

  /** The watcher's `ended`, once at most, however many ways the stream is ended at once. */
  private async end(how: 'done' | 'error' | 'return', error?: unknown): Promise<void> {
    this.source = undefined;
    this.finished = true;
    if (this.endedOnce) return;
    this.endedOnce = true;
    await this.watch.ended?.(how, error);
  }
}

function rethrow(error: unknown): never {
  throw error;
}

/**
 * `items` already read, then the rest of their stream (if any is left): a stream opened by reading ahead, as a
 * failover reads up to the first chunk before it commits to a replica, handed on without a generator layer.
 */
export function precededBy<T>(items: readonly T[], rest: AsyncIterator<T> | undefined): AsyncIterableIterator<T> {
  let read = 0;
  const iterator: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]: () => iterator,
    next: () => {
      if (read < items.length) return Promise.resolve({ done: false, value: items[read++]! });
      return rest ? rest.next() : Promise.resolve(DONE);
    },
    return: async (value?: unknown) => {
      read = items.length;
      const left = rest;
      rest = undefined;
      await left?.return?.();
      return { done: true, value: value as T };
    },
  };
  return iterator;
}
