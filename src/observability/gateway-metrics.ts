// Per-model, per-replica metrics of the gateway: traffic, errors, retries, breaker state, latency, prefix routing.
import { Counter, Gauge, type Registry } from 'prom-client';
import { TalliedCounter, TalliedHistogram } from './tallied-metrics.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** What the metrics read from a replica at scrape time. */
export interface ReplicaGaugeSource {
  model: string;
  replica: string;
  inflight: () => number;
  breaker: () => BreakerStateName;
}

/** A circuit breaker's state as the router names it. */
export type BreakerStateName = 'closed' | 'half-open' | 'open';

/** Label values of the breaker series: Prometheus label values by convention use underscores. */
const BREAKER_STATES = [
  ['closed', 'closed'],
  ['half-open', 'half_open'],
  ['open', 'open'],
] as const;

export class GatewayMetrics {
  readonly requests: TalliedCounter<'model' | 'replica' | 'outcome'>;
  readonly retries: Counter<'model' | 'replica'>;
  readonly ttft: TalliedHistogram<'model' | 'replica'>;
  readonly latency: TalliedHistogram<'model' | 'replica'>;
  readonly prefixRouting: Counter<'model' | 'result'>;
  private readonly sources: ReplicaGaugeSource[] = [];

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new TalliedCounter({
      name: 'autoglm_replica_requests_total',
      help: 'Requests sent to each replica, by outcome',
      labelNames: ['model', 'replica', 'outcome'],
      registers,
    });
    this.retries = new Counter({
      name: 'autoglm_replica_retries_total',
      help: 'Attempts retried elsewhere after this replica failed',
      labelNames: ['model', 'replica'],
      registers,
    });
    this.ttft = new TalliedHistogram({
      name: 'autoglm_replica_time_to_first_token_seconds',
      help: 'Time to first token per replica',
      labelNames: ['model', 'replica'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.latency = new TalliedHistogram({
      name: 'autoglm_replica_request_duration_seconds',
      help: 'Request duration per replica',
      labelNames: ['model', 'replica'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.prefixRouting = new Counter({
      name: 'autoglm_prefix_routing_total',
      help: 'Prefix-aware routing decisions: hit when the chosen replica had seen the prompt prefix',
      labelNames: ['model', 'result'],
      registers,
    });
    const sources = this.sources;
    // Both gauges are rebuilt at every scrape, so the replicas of a pool replaced by a reload leave no stale series.
    new Gauge({
      name: 'autoglm_replica_inflight',
      help: 'Requests in flight per replica',
      labelNames: ['model', 'replica'],
      registers,
      collect() {
        this.reset();
        for (const s of sources) this.set({ model: s.model, replica: s.replica }, s.inflight());
      },
    });
    // One series per state, 1 for the state the breaker is in (as kube-state-metrics reports phases): a query reads
    // `autoglm_replica_breaker_state{state="open"} == 1` and needs no table of numeric codes.
    new Gauge({
      name: 'autoglm_replica_breaker_state',
      help: 'Circuit breaker per replica: 1 on the series of its current state="closed|half_open|open", 0 on the others',
      labelNames: ['model', 'replica', 'state'],
      registers,
      collect() {
        this.reset();
        for (const s of sources) {
          const current = s.breaker();
          for (const [name, label] of BREAKER_STATES) this.set({ model: s.model, replica: s.replica, state: label }, name === current ? 1 : 0);
        }
      },
    });
  }

  /** Reads the source at every scrape until the returned function is called (its pool was replaced). */
  watch(source: ReplicaGaugeSource): () => void {
    this.sources.push(source);
    return () => {
      const at = this.sources.indexOf(source);
      if (at >= 0) this.sources.splice(at, 1);
    };
  }
}
