// Admission control: a fixed set of resources (e.g. llama sequences) handed out from a bounded queue, by priority, then FIFO.
import { overloaded } from '../core/errors.js';

export interface BoundedPoolOptions<R, Q> {
  /** How many callers may wait; one more is refused with 429. */
  maxQueue: number;
  /** Chooses which free resource serves a request (e.g. the one with the longest shared prefix). */
  choose: (free: readonly R[], request: Q) => R;
  /** Suggested Retry-After, in seconds, when the queue is full. */
  retryAfterSeconds?: number;
}

interface Waiter<R, Q> {
  request: Q;
  priority: number;
  resolve: (resource: R) => void;
  reject: (err: unknown) => void;
}

export class BoundedPool<R, Q> {
  private readonly free: R[];
  private readonly waiters: Waiter<R, Q>[] = [];

  constructor(
    private readonly resources: readonly R[],
    private readonly options: BoundedPoolOptions<R, Q>,
  ) {
    this.free = [...resources];
  }

  get size(): number {
    return this.resources.length;
  }

  get busy(): number {
    return this.resources.length - this.free.length;
  }

  get queueDepth(): number {
    return this.waiters.length;
  }

  /**
   * Resolves with a resource; rejects with 429 when the queue is full, or with the signal's reason on abort. Waiters
   * with a higher priority are served first; equal priorities keep their arrival order.
   */
  acquire(request: Q, signal: AbortSignal, priority = 0): Promise<R> {
    signal.throwIfAborted();
    if (this.free.length > 0 && this.waiters.length === 0) return Promise.resolve(this.take(request));
    if (this.waiters.length >= this.options.maxQueue) {
      return Promise.reject(
        overloaded(`The server is at capacity (${this.size} busy, ${this.waiters.length} waiting). Retry after a moment.`, this.options.retryAfterSeconds ?? 1),
      );
    }
    return new Promise<R>((resolve, reject) => {
      const waiter: Waiter<R, Q> = { request, priority, resolve, reject };
      const onAbort = () => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(signal.reason);
      };
      waiter.resolve = (r) => {
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      // Queues are short (bounded by maxQueue), so a linear insert keeps the order without a heap.
      const at = this.waiters.findIndex((w) => w.priority < priority);
      if (at < 0) this.waiters.push(waiter);
      else this.waiters.splice(at, 0, waiter);
    });
  }

  release(resource: R): void {
    this.free.push(resource);
    const next = this.waiters.shift();
    if (next) next.resolve(this.take(next.request));
  }

  private take(request: Q): R {
    const chosen = this.options.choose(this.free, request);
    this.free.splice(this.free.indexOf(chosen), 1);
    return chosen;
  }
}
