// The load generator: open loop (constant or Poisson arrivals, latency counted from when each request was due, so a
// slow server cannot hide its queueing: no coordinated omission) or closed loop (a fixed number of users).
import { setMaxListeners } from 'node:events';
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import { benchDialects, type BenchApi } from './bench-dialects.js';
import { streamRequest, type RequestTiming, type Target } from './stream-request.js';
import { arrivals, workload, type WorkloadOptions } from './workload.js';

export interface Slo {
  ttftMs?: number;
  tpotMs?: number;
  e2eMs?: number;
}

export interface BenchOptions {
  url: string;
  model: string;
  apiKey?: string;
  /** The wire dialect to speak (default: OpenAI's chat completions). */
  api?: BenchApi;
  mode: 'open' | 'closed';
  /** Open loop: requests per second. */
  rate?: number;
  arrival: 'constant' | 'poisson';
  /** Closed loop: users, each sending its next request when the last one ends. */
  concurrency: number;
  requests: number;
  /** Stop sending after this long; requests still running get `graceSeconds` more, then are cut off as errors. */
  durationSeconds?: number;
  graceSeconds?: number;
  workload: WorkloadOptions;
  slo: Slo;
  seed: number;
  extraBody?: Record<string, unknown>;
  onProgress?: (done: number, total: number, live: { ok: number; errors: number; outputTokens: number; elapsedS: number }) => void;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  mean: number;
  max: number;
  count: number;
}

export interface BenchResult {
  target: { url: string; model: string; api?: BenchApi };
  options: { mode: string; rate?: number; arrival: string; concurrency: number; requests: number; workload: WorkloadOptions; slo: Slo; seed: number };
  startedAt: string;
  durationS: number;
  requests: { sent: number; ok: number; errors: number };
  errorSamples: string[];
  throughput: { requestsPerS: number; outputTokensPerS: number; totalTokensPerS: number };
  ttftMs: Percentiles;
  itlMs: Percentiles;
  tpotMs: Percentiles;
  e2eMs: Percentiles;
  goodput: { requestsPerS: number; share: number };
  /** Completed requests and output tokens per second of the run. */
  timeline: { second: number; requests: number; outputTokens: number }[];
  /** Latency CDFs, as [ms, share of requests at or below]. */
  cdf: { e2e: [number, number][]; ttft: [number, number][] };
}

const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });

function summary(h: hdr.Histogram): Percentiles {
  const ms = (us: number) => Math.round(us) / 1000;
  if (h.totalCount === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, mean: 0, max: 0, count: 0 };
  return {
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    mean: ms(h.mean),
    max: ms(h.maxValue),
    count: h.totalCount,
  };
}

function cdfOf(h: hdr.Histogram): [number, number][] {
  if (h.totalCount === 0) return [];
  const points: [number, number][] = [];
  for (const q of [0, 1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97, 99, 99.5, 99.9, 100])
    points.push([Math.round(h.getValueAtPercentile(q)) / 1000, q / 100]);
  return points;
}

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const base = new URL(options.url);
  const pool = new Pool(base.origin, { connections: Math.max(options.concurrency, 64), keepAliveTimeout: 30_000 });
  const api = options.api ?? 'chat';
  const dialect = benchDialects[api];
  const target: Target = {
    pool,
    path: `${base.pathname.replace(/\/+$/, '')}${dialect.path}`,
    model: options.model,
    headers: { ...dialect.headers, ...(options.apiKey ? dialect.auth(options.apiKey) : {}) },
    api,
    dialect,
  };
  const prompts = workload(options.workload);
  const start = performance.now();
  const now = () => performance.now() - start;
  const stopSendingAt = options.durationSeconds === undefined ? Infinity : options.durationSeconds * 1000;
  const abort = new AbortController();
  // Every request in flight listens to this one signal.
  setMaxListeners(0, abort.signal);
  const timings: RequestTiming[] = [];
  let live = { ok: 0, errors: 0, outputTokens: 0 };
  const record = (t: RequestTiming) => {
    timings.push(t);
    live = { ok: live.ok + (t.ok ? 1 : 0), errors: live.errors + (t.ok ? 0 : 1), outputTokens: live.outputTokens + t.outputTokens };
    options.onProgress?.(timings.length, options.requests, { ...live, elapsedS: now() / 1000 });
  };
  const extra = options.extraBody ?? {};
  let sent = 0;
  const running = new Set<Promise<void>>();
  const fire = (i: number, due: number) => {
    sent++;
    const p = streamRequest(target, prompts(i), due, now, extra, abort.signal).then(record);
    running.add(p);
    void p.finally(() => running.delete(p));
    return p;
  };

  if (options.mode === 'open') {
    const schedule = arrivals(options.rate ?? 1, options.requests, options.arrival, options.seed);
    for (let i = 0; i < schedule.length && schedule[i]! < stopSendingAt; i++) {
      const wait = schedule[i]! - now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      // Sent late or not, it was due at schedule[i]: that is where its latency is counted from.
      void fire(i, schedule[i]!);
    }
  } else {
    let next = 0;
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (next < options.requests && now() < stopSendingAt) {
          const i = next++;
          await fire(i, now());
        }
      }),
    );
  }
  const grace = setTimeout(() => abort.abort(new Error('benchmark time is up')), (options.graceSeconds ?? 30) * 1000);
  await Promise.all(running);
  clearTimeout(grace);
  await pool.close();
  const durationMs = Math.max(1, Math.max(...timings.map((t) => t.end), now()));

  const [ttft, itl, tpot, e2e] = [histogram(), histogram(), histogram(), histogram()];
  const us = (ms: number) => Math.max(1, Math.round(ms * 1000));
  let good = 0;
  const timeline = new Map<number, { requests: number; outputTokens: number }>();
  for (const t of timings) {
    const second = Math.floor(t.end / 1000);
    const bucket = timeline.get(second) ?? { requests: 0, outputTokens: 0 };
    bucket.outputTokens += t.outputTokens;
    if (!t.ok) {
      timeline.set(second, bucket);
      continue;
    }
    bucket.requests++;
    timeline.set(second, bucket);
    const t1 = (t.firstToken ?? t.end) - t.due;
    const total = t.end - t.due;
    const perToken = t.outputTokens > 1 && t.firstToken !== undefined ? (t.end - t.firstToken) / (t.outputTokens - 1) : undefined;
    ttft.recordValue(us(t1));
    e2e.recordValue(us(total));
    if (perToken !== undefined) tpot.recordValue(us(perToken));
    for (const g of t.gaps) itl.recordValue(us(g));
    const slo = options.slo;
    if (
      (slo.ttftMs === undefined || t1 <= slo.ttftMs) &&
      (slo.e2eMs === undefined || total <= slo.e2eMs) &&
      (slo.tpotMs === undefined || perToken === undefined || perToken <= slo.tpotMs)
    )
      good++;
  }
  const ok = timings.filter((t) => t.ok);
  const seconds = durationMs / 1000;
  const outputTokens = ok.reduce((a, t) => a + t.outputTokens, 0);
  const last = Math.floor(durationMs / 1000);
  return {
    target: { url: options.url, model: options.model, api },
    options: {
      mode: options.mode,
      rate: options.rate,
      arrival: options.arrival,
      concurrency: options.concurrency,
      requests: options.requests,
      workload: options.workload,
      slo: options.slo,
      seed: options.seed,
    },
    startedAt: new Date(Date.now() - durationMs).toISOString(),
    durationS: Math.round(seconds * 1000) / 1000,
    requests: { sent, ok: ok.length, errors: timings.length - ok.length },
    errorSamples: [...new Set(timings.filter((t) => t.error).map((t) => t.error!))].slice(0, 5),
    throughput: {
      requestsPerS: ok.length / seconds,
      outputTokensPerS: outputTokens / seconds,
      totalTokensPerS: (outputTokens + ok.reduce((a, t) => a + t.promptTokens, 0)) / seconds,
    },
    ttftMs: summary(ttft),
    itlMs: summary(itl),
    tpotMs: summary(tpot),
    e2eMs: summary(e2e),
    goodput: { requestsPerS: good / seconds, share: timings.length ? good / timings.length : 0 },
    timeline: Array.from({ length: last + 1 }, (_, s) => ({ second: s, ...(timeline.get(s) ?? { requests: 0, outputTokens: 0 }) })),
    cdf: { e2e: cdfOf(e2e), ttft: cdfOf(ttft) },
  };
}
