// Prometheus metrics: one registry per server, so tests and embedded uses never share global state.
import type { ModelLoadState } from '../core/index.js';
import { LiveStats } from './live-stats.js';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { TalliedCounter, TalliedHistogram } from './tallied-metrics.js';

/** Latency buckets from 5 ms to 60 s: LLM latencies span four orders of magnitude. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const TOKEN_GAP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export interface EngineGauges {
  model: string;
  /** Engines with speculative decoding also count the guessed tokens the model confirmed and refuted. */
  stats: () => { parallel: number; busySequences: number; queueDepth: number; predictedValidated?: number; predictedRefuted?: number };
}

/** An embedded model served on demand, and whether it is in memory now. */
export interface ModelState {
  model: string;
  status: ModelLoadState;
}

type EngineRow = { model: string; queueDepth: number; busySequences: number; parallel: number; status?: ModelLoadState };

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new TalliedCounter({
    name: 'autoglm_requests_total',
    help: 'HTTP requests by route and status code',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly promptTokens = new TalliedCounter({
    name: 'autoglm_prompt_tokens_total',
    help: 'Prompt tokens processed',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly cachedPromptTokens = new TalliedCounter({
    name: 'autoglm_cached_prompt_tokens_total',
    help: 'Prompt tokens reused from the KV cache',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly completionTokens = new TalliedCounter({
    name: 'autoglm_completion_tokens_total',
    help: 'Completion tokens generated',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly timeToFirstToken = new TalliedHistogram({
    name: 'autoglm_time_to_first_token_seconds',
    help: 'Time from request to first generated text',
    labelNames: ['model'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly interTokenLatency = new TalliedHistogram({
    name: 'autoglm_inter_token_latency_seconds',
    help: 'Time between consecutive streamed text chunks',
    labelNames: ['model'] as const,
    buckets: TOKEN_GAP_BUCKETS,
    registers: [this.registry],
  });
  readonly requestDuration = new TalliedHistogram({
    name: 'autoglm_request_duration_seconds',
    help: 'End-to-end generation time',
    labelNames: ['model', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly modelLoads = new Counter({
    name: 'autoglm_model_loads_total',
    help: 'Embedded models loaded: at startup, on their first request, and again after an unload',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly modelUnloads = new Counter({
    name: 'autoglm_model_unloads_total',
    help: 'Embedded models unloaded: idle past their keep-alive, or evicted to make room for another',
    labelNames: ['model', 'reason'] as const,
    registers: [this.registry],
  });
  /** Models loaded on demand and their state, when the server serves them so (several models in one process). */
  private modelStates?: () => readonly ModelState[];

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
    // Speculative decoding's acceptance rate is validated / (validated + refuted); the engine keeps the totals since
    // it loaded, so these are read at each scrape (a model loaded again starts from zero, as a restarted counter does).
    const predicted = (name: string, help: string, pick: (s: ReturnType<EngineGauges['stats']>) => number | undefined) =>
      new Counter({
        name,
        help,
        labelNames: ['model'] as const,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const e of engines) {
            const value = pick(e.stats());
            if (value !== undefined) this.inc({ model: e.model }, value);
          }
        },
      });
    predicted('autoglm_predicted_tokens_validated_total', 'Tokens guessed by speculative decoding that the model confirmed', (s) => s.predictedValidated);
    predicted('autoglm_predicted_tokens_refuted_total', 'Tokens guessed by speculative decoding that the model refuted', (s) => s.predictedRefuted);
    const states = () => this.modelStates?.() ?? [];
    new Gauge({
      name: 'autoglm_model_loaded',
      help: 'Whether an embedded model served on demand is in memory now (1) or not (0: unloaded or still loading)',
      labelNames: ['model'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of states()) this.set({ model: s.model }, s.status === 'loaded' ? 1 : 0);
      },
    });
  }

  /** Where the state of models loaded on demand is read from, at every scrape and dashboard poll. */
  watchModelStates(states: () => readonly ModelState[]): void {
    this.modelStates = states;
  }

  /** Each engine's queue and sequences now, and each model loaded on demand with its state, for the dashboard. */
  engineStats(): EngineRow[] {
    const running: EngineRow[] = this.engines.map((e) => ({ model: e.model, ...e.stats() }));
    const states = this.modelStates?.();
    if (!states) return running;
    const idle = { queueDepth: 0, busySequences: 0, parallel: 0 };
    const listed = new Set(states.map((s) => s.model));
    return [
      ...states.map((s) => ({ ...(running.find((r) => r.model === s.model) ?? { model: s.model, ...idle }), status: s.status })),
      ...running.filter((r) => !listed.has(r.model)),
    ];
  }
}
