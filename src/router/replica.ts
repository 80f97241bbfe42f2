// One replica of a model: its engine, its load and latency as the router sees them, and its circuit breaker.
import type { ChatModel, Clock } from '../core/index.js';
import { CircuitBreaker, type BreakerOptions } from './circuit-breaker.js';
import type { ReplicaView } from './policies/index.js';

/** An engine that can also be checked and closed (remote engines can; in-process ones need not). */
export interface ReplicaEngine extends ChatModel {
  probe?(signal: AbortSignal): Promise<boolean>;
  close?(): Promise<void>;
  dispose?(): Promise<void>;
}

/** How much the newest time-to-first-token moves the average. */
const EWMA_ALPHA = 0.3;

export class Replica {
  outstanding = 0;
  ewmaTtftMs: number | undefined;
  /** Until then the replica asked us (Retry-After) to leave it alone. */
  coolUntil = 0;
  /** Leaving the pool (its DNS record is gone): it takes no new requests, and its in-flight ones finish. */
  draining = false;
  readonly breaker: CircuitBreaker;

  constructor(
    readonly id: string,
    readonly engine: ReplicaEngine,
    readonly weight: number,
    breaker: BreakerOptions,
    private readonly clock: Clock,
  ) {
    this.breaker = new CircuitBreaker(breaker, clock);
  }

  available(): boolean {
    return !this.draining && this.clock.now() >= this.coolUntil && this.breaker.allows();
  }

  view(): ReplicaView {
    return { id: this.id, weight: this.weight, outstanding: this.outstanding, ewmaTtftMs: this.ewmaTtftMs };
  }

  observeTtft(ms: number): void {
    this.ewmaTtftMs = this.ewmaTtftMs === undefined ? ms : this.ewmaTtftMs + EWMA_ALPHA * (ms - this.ewmaTtftMs);
  }

  async close(): Promise<void> {
    await this.engine.close?.();
    await this.engine.dispose?.();
  }
}
