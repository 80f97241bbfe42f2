// The SLO rules of a canary: pure functions from window stats to breaches, and from a run of windows to a verdict.
import type { SloRules } from '../../config/index.js';
import type { WindowStats } from './window-stats.js';

export interface Breach {
  kind: 'error_rate' | 'latency';
  metric: string;
  value: number;
  threshold: number;
  against: 'absolute' | 'stable';
}

export type WindowVerdict = { kind: 'insufficient' } | { kind: 'healthy' } | { kind: 'breach'; breaches: Breach[] };

const EMPTY: WindowStats = { requests: 0, errors: 0, errorRate: 0 };

/** One window of the canary against the absolute thresholds and against the stable version in the same window. */
export function evaluateWindow(canary: WindowStats | undefined, stable: WindowStats | undefined, rules: SloRules): WindowVerdict {
  const c = canary ?? EMPTY;
  if (c.requests < rules.minRequests) return { kind: 'insufficient' };
  const s = stable && stable.requests >= rules.minRequests ? stable : undefined;
  const breaches: Breach[] = [];
  if (c.errorRate > rules.maxErrorRate) {
    breaches.push({ kind: 'error_rate', metric: 'error_rate', value: c.errorRate, threshold: rules.maxErrorRate, against: 'absolute' });
  } else if (s && c.errorRate > s.errorRate + rules.errorRateMargin) {
    breaches.push({ kind: 'error_rate', metric: 'error_rate', value: c.errorRate, threshold: s.errorRate + rules.errorRateMargin, against: 'stable' });
  }
  for (const [metric, value, max, stableValue] of [
    ['p99_latency_ms', c.p99LatencyMs, rules.maxP99LatencyMs, s?.p99LatencyMs],
    ['p99_ttft_ms', c.p99TtftMs, rules.maxP99TtftMs, s?.p99TtftMs],
  ] as const) {
    if (value === undefined) continue;
    if (max !== undefined && value > max) breaches.push({ kind: 'latency', metric, value, threshold: max, against: 'absolute' });
    else if (stableValue !== undefined && value > rules.latencyFloorMs && value > stableValue * rules.latencyRatio) {
      breaches.push({ kind: 'latency', metric, value, threshold: stableValue * rules.latencyRatio, against: 'stable' });
    }
  }
  return breaches.length ? { kind: 'breach', breaches } : { kind: 'healthy' };
}

/** How many of the latest windows in a row breached on this kind (insufficient windows break the run). */
function run(history: readonly WindowVerdict[], kind: Breach['kind']): number {
  let n = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    const v = history[i]!;
    if (v.kind === 'breach' && v.breaches.some((b) => b.kind === kind)) n++;
    else break;
  }
  return n;
}

export type RolloutDecision = { action: 'rollback'; breaches: Breach[] } | { action: 'advance' } | { action: 'hold'; why: string };

/**
 * After a window closes: roll back when a breach has lasted its number of windows, advance when the step has been
 * held long enough and the latest window was healthy, else hold.
 */
export function decide(history: readonly WindowVerdict[], rules: SloRules, heldMs: number, holdMs: number): RolloutDecision {
  const latest = history[history.length - 1];
  if (latest?.kind === 'breach') {
    const errors = run(history, 'error_rate') >= rules.errorWindows;
    const latency = run(history, 'latency') >= rules.latencyWindows;
    if (errors || latency) {
      return { action: 'rollback', breaches: latest.breaches.filter((b) => (b.kind === 'error_rate' ? errors : latency)) };
    }
    return { action: 'hold', why: 'breaching, not yet for long enough' };
  }
  if (latest?.kind !== 'healthy') return { action: 'hold', why: 'not enough canary traffic to judge' };
  if (heldMs < holdMs) return { action: 'hold', why: 'holding the current step' };
  return { action: 'advance' };
}
