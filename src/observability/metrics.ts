// Prometheus metrics: one registry per server, so tests and embedded uses never share global state.
import { LiveStats } from './live-stats.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets from 5 ms to 60 s: LLM latencies span four orders of magnitude. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const TOKEN_GAP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * prom-client children made once per distinct label values and kept: `labels()` builds a child (and a label lookup
 * converts and hashes its labels) on every call, which the request path pays for each metric it touches.
 */
export function boundOnce<T>(bind: (...values: string[]) => T): (...values: string[]) => T {
  const bound = new Map<string, T>();
  return (...values) => {
    const key = values.join('\u0000');
    let child = bound.get(key);
    if (child === undefined) bound.set(key, (child = bind(...values)));
    return child;
  };
}

export interface EngineGauges {
  model: string;
  stats: () => { parallel: number; busySequences: number; queueDepth: number };
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'autoglm_requests_total',
    help: 'HTTP requests by route and status code',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly promptTokens = new Counter({
    name: 'autoglm_prompt_tokens_total',
    help: 'Prompt tokens processed',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly cachedPromptTokens = new Counter({
    name: 'autoglm_cached_prompt_tokens_total',
    help: 'Prompt tokens reused from the KV cache',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly completionTokens = new Counter({
    name: 'autoglm_completion_tokens_total',
    help: 'Completion tokens generated',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly timeToFirstToken = new Histogram({
    name: 'autoglm_time_to_first_token_seconds',
    help: 'Time from request to first generated text',
    labelNames: ['model'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly interTokenLatency = new Histogram({
    name: 'autoglm_inter_token_latency_seconds',
    help: 'Time between consecutive streamed text chunks',
    labelNames: ['model'] as const,
    buckets: TOKEN_GAP_BUCKETS,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'autoglm_request_duration_seconds',
    help: 'End-to-end generation time',
    labelNames: ['model', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** The last minutes of traffic, for the dashboard. */
  readonly live = new LiveStats();

  /** `engines` may change after construction (loading, reloads): gauges read it at every scrape. */
  constructor(private readonly engines: readonly EngineGauges[] = []) {
    // prom-client's default metrics are already named process_* and nodejs_*: the prefix only namespaces them.
    collectDefaultMetrics({ register: this.registry, prefix: 'autoglm_' });
    const gauge = (name: string, help: string, pick: (s: ReturnType<EngineGauges['stats']>) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['model'] as const,
        registers: [this.registry],
        collect() {
          // Engines come and go with config reloads: only the ones serving now are reported.
          this.reset();
          for (const e of engines) this.set({ model: e.model }, pick(e.stats()));
        },
      });
    gauge('autoglm_queue_depth', 'Requests waiting for a free sequence', (s) => s.queueDepth);
    gauge('autoglm_busy_sequences', 'Sequences generating right now', (s) => s.busySequences);
    gauge('autoglm_sequences', 'Parallel sequences configured', (s) => s.parallel);
  }

  /** Each engine's queue and sequences now, for the dashboard. */
  engineStats(): { model: string; queueDepth: number; busySequences: number; parallel: number }[] {
    return this.engines.map((e) => ({ model: e.model, ...e.stats() }));
  }
}
