// Alert rules on the gateway's own numbers: pure functions from a window's snapshot to alerts that fire or resolve.
import type { AlertRule } from '../../config/index.js';

/** One window's numbers per model. */
export interface ModelSnapshot {
  errorRate?: number;
  p99LatencyMs?: number;
  queueDepth?: number;
  breakersOpen?: number;
}

export interface AlertEvent {
  type: 'alert.firing' | 'alert.resolved';
  rule: string;
  model: string;
  metric: AlertRule['metric'];
  value: number | undefined;
  threshold: number;
  windows: number;
}

/** Breaching windows in a row, per rule and model. */
export type AlertState = Map<string, { run: number; firing: boolean }>;

const metricValue = (s: ModelSnapshot, metric: AlertRule['metric']): number | undefined => {
  switch (metric) {
    case 'error_rate':
      return s.errorRate;
    case 'p99_latency_ms':
      return s.p99LatencyMs;
    case 'queue_depth':
      return s.queueDepth;
    case 'breakers_open':
      return s.breakersOpen;
  }
};

/**
 * Applies one window: a rule fires once its metric has been above the threshold for `forWindows` windows in a row, and
 * resolves the first window it is not. Returns the events and the state for the next window.
 */
export function evaluateAlerts(
  rules: readonly AlertRule[],
  snapshot: ReadonlyMap<string, ModelSnapshot>,
  previous: AlertState,
): { events: AlertEvent[]; state: AlertState } {
  const state: AlertState = new Map();
  const events: AlertEvent[] = [];
  for (const rule of rules) {
    const models = rule.model ? [rule.model] : [...snapshot.keys()];
    for (const model of models) {
      const key = `${rule.name}\u0000${model}`;
      const before = previous.get(key) ?? { run: 0, firing: false };
      const value = metricValue(snapshot.get(model) ?? {}, rule.metric);
      const breaching = value !== undefined && value > rule.above;
      const run = breaching ? before.run + 1 : 0;
      const firing = breaching ? before.firing || run >= rule.forWindows : false;
      const base = { rule: rule.name, model, metric: rule.metric, value, threshold: rule.above, windows: run };
      if (firing && !before.firing) events.push({ type: 'alert.firing', ...base });
      if (!firing && before.firing) events.push({ type: 'alert.resolved', ...base });
      if (run > 0 || firing) state.set(key, { run, firing });
    }
  }
  return { events, state };
}
