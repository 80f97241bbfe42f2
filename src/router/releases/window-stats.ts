// Per-model request outcomes for the current evaluation window: counts, errors, latency and time to first token.

/** What one window says about one model (or version). */
export interface WindowStats {
  requests: number;
  errors: number;
  errorRate: number;
  p99LatencyMs?: number;
  p99TtftMs?: number;
}

/** Samples kept per window for percentiles; beyond this, a uniform reservoir keeps p99 honest without unbounded memory. */
const MAX_SAMPLES = 4096;

class Reservoir {
  private readonly samples: number[] = [];
  private seen = 0;

  add(value: number, random: () => number): void {
    this.seen++;
    if (this.samples.length < MAX_SAMPLES) this.samples.push(value);
    else {
      const at = Math.floor(random() * this.seen);
      if (at < MAX_SAMPLES) this.samples[at] = value;
    }
  }

  p99(): number | undefined {
    if (this.samples.length === 0) return undefined;
    const sorted = [...this.samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
  }
}

class ModelWindow {
  requests = 0;
  errors = 0;
  readonly latency = new Reservoir();
  readonly ttft = new Reservoir();
}

export class WindowStatsCollector {
  private current = new Map<string, ModelWindow>();

  constructor(private readonly random: () => number = Math.random) {}

  private window(model: string): ModelWindow {
    let w = this.current.get(model);
    if (!w) this.current.set(model, (w = new ModelWindow()));
    return w;
  }

  record(model: string, outcome: { ok: boolean; latencyMs: number; ttftMs?: number }): void {
    const w = this.window(model);
    w.requests++;
    if (!outcome.ok) w.errors++;
    w.latency.add(outcome.latencyMs, this.random);
    if (outcome.ttftMs !== undefined) w.ttft.add(outcome.ttftMs, this.random);
  }

  /** Closes the window: its stats per model, and a fresh window begins. */
  roll(): Map<string, WindowStats> {
    const closed = this.current;
    this.current = new Map();
    return new Map(
      [...closed].map(([model, w]) => [
        model,
        {
          requests: w.requests,
          errors: w.errors,
          errorRate: w.requests ? w.errors / w.requests : 0,
          p99LatencyMs: w.latency.p99(),
          p99TtftMs: w.ttft.p99(),
        },
      ]),
    );
  }
}
