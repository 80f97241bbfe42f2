// A circuit breaker per replica: closed, open after consecutive failures, half-open to let one probe through.
import type { Clock } from '../core/index.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long an open breaker refuses traffic before letting a probe through. */
  openMs: number;
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private current: BreakerState = 'closed';

  constructor(
    private readonly options: BreakerOptions,
    private readonly clock: Clock,
  ) {}

  get state(): BreakerState {
    if (this.current === 'open' && this.clock.now() - this.openedAt >= this.options.openMs) {
      this.current = 'half-open';
      this.probing = false;
    }
    return this.current;
  }

  /** Whether a request may go to this replica now; in half-open, only one request at a time. */
  allows(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.probing) return false;
    return true;
  }

  /** Marks the start of a request (so a half-open breaker lets no second one through). */
  begin(): void {
    if (this.state === 'half-open') this.probing = true;
  }

  recordSuccess(): void {
    this.failures = 0;
    this.probing = false;
    this.current = 'closed';
  }

  recordFailure(): void {
    this.failures++;
    this.probing = false;
    if (this.current === 'half-open' || this.failures >= this.options.failureThreshold) this.open();
  }

  /** An active health check passed: let the next request through as a probe instead of waiting out openMs. */
  halfOpen(): void {
    this.current = 'half-open';
    this.probing = false;
  }

  /** An active health check failed: no point waiting for more requests to fail. */
  open(): void {
    this.current = 'open';
    this.openedAt = this.clock.now();
    this.probing = false;
  }
}
