// Active health checks: probe each replica that can be probed; a failed probe opens its breaker, a passing one
// lets it back in (half-open), so a replica that returns rejoins by itself.
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

  start(): void {
    if (this.replicas.every((r) => !r.engine.probe)) return;
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
    if (!healthy && state !== 'open') replica.breaker.open();
    else if (healthy && state === 'open') replica.breaker.halfOpen();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
