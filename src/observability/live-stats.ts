// The last minutes of traffic, second by second, for the dashboard: requests, errors, tokens and recent latencies.

interface Second {
  requests: number;
  errors: number;
  tokens: number;
}

export interface LiveSnapshot {
  /** One entry per second, oldest first, ending at the last full second. */
  series: { t: number; requests: number; errors: number; tokens: number }[];
  requestsPerS: number;
  tokensPerS: number;
  errorsPerS: number;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null };
  ttftMs: { p50: number | null; p99: number | null };
  total: { requests: number; errors: number; tokens: number };
}

const KEEP_SECONDS = 120;
/** Rates are averaged over this many full seconds, so a dashboard polling once a second sees steady numbers. */
const RATE_WINDOW = 5;
const LATENCY_WINDOW_MS = 10_000;
const MAX_LATENCIES = 5000;

const percentile = (sorted: readonly number[], q: number) =>
  sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10) / 10 : null;

export class LiveStats {
  private readonly seconds = new Map<number, Second>();
  private latencies: { at: number; latencyMs: number; ttftMs?: number }[] = [];
  private readonly total = { requests: 0, errors: 0, tokens: 0 };

  constructor(private readonly now: () => number = Date.now) {}

  record(call: { ok: boolean; latencyMs: number; ttftMs?: number; tokens: number }): void {
    const at = this.now();
    const second = Math.floor(at / 1000);
    const s = this.seconds.get(second) ?? { requests: 0, errors: 0, tokens: 0 };
    s.requests++;
    if (!call.ok) s.errors++;
    s.tokens += call.tokens;
    this.seconds.set(second, s);
    this.total.requests++;
    if (!call.ok) this.total.errors++;
    this.total.tokens += call.tokens;
    if (call.ok) {
      this.latencies.push({ at, latencyMs: call.latencyMs, ttftMs: call.ttftMs });
      if (this.latencies.length > MAX_LATENCIES) this.latencies = this.latencies.slice(-MAX_LATENCIES / 2);
    }
    if (this.seconds.size > KEEP_SECONDS * 2) for (const k of this.seconds.keys()) if (k < second - KEEP_SECONDS) this.seconds.delete(k);
  }

  snapshot(): LiveSnapshot {
    const now = this.now();
    const last = Math.floor(now / 1000) - 1;
    const series = Array.from({ length: 60 }, (_, i) => {
      const t = last - 59 + i;
      return { t, ...(this.seconds.get(t) ?? { requests: 0, errors: 0, tokens: 0 }) };
    });
    const recent = series.slice(-RATE_WINDOW);
    const rate = (k: keyof Second) => recent.reduce((a, s) => a + s[k], 0) / RATE_WINDOW;
    const window = this.latencies.filter((l) => l.at >= now - LATENCY_WINDOW_MS);
    const latency = window.map((l) => l.latencyMs).sort((a, b) => a - b);
    const ttft = window.flatMap((l) => (l.ttftMs === undefined ? [] : [l.ttftMs])).sort((a, b) => a - b);
    return {
      series,
      requestsPerS: rate('requests'),
      tokensPerS: rate('tokens'),
      errorsPerS: rate('errors'),
      latencyMs: { p50: percentile(latency, 0.5), p90: percentile(latency, 0.9), p99: percentile(latency, 0.99) },
      ttftMs: { p50: percentile(ttft, 0.5), p99: percentile(ttft, 0.99) },
      total: { ...this.total },
    };
  }
}
