// Active health checks: probe each replica that can be probed; failed probes open its breaker as failed requests do,
// a passing one lets it back in (half-open), so a replica that returns rejoins by itself.
import type { Replica } from './replica.js';

export interface HealthCheckOptions {
  intervalMs: number;
  timeoutMs: number;
}

export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly replicas: readonly Replica[],
    private readonly options: HealthCheckOptions,
  ) {}

  /** `dynamic`: replicas come and go (found by DNS), so the timer runs even while none of them can be probed. */
  start(dynamic = false): void {
    if (!dynamic && this.replicas.every((r) => !r.engine.probe)) return;
    this.timer = setInterval(() => void this.checkAll(), this.options.intervalMs);
    this.timer.unref();
  }

  async checkAll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await Promise.all(this.replicas.map((r) => this.check(r)));
    } finally {
      this.running = false;
    }
  }

  private async check(replica: Replica): Promise<void> {
    if (!replica.engine.probe) return;
    const healthy = await replica.engine.probe(AbortSignal.timeout(this.options.timeoutMs));
    const state = replica.breaker.state;
    if (healthy) {
      if (state === 'open') replica.breaker.halfOpen();
      return;
    }
    // A failed probe counts as one failed request, not as a verdict: on a busy host a probe can time out while the
    // replica answers its requests, and each answered request resets the count. A replica that is gone fails its
    // probes one after another, with or without traffic, and is ejected after failureThreshold of them.
    if (state !== 'open') replica.breaker.recordFailure();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
