// The SLO watch of a prompt's split: each window, every canary version is judged against the stable one on errors
// and latency (the releases room's rules) and on feedback scores; a breach that lasts takes it out of the split.
import type { PromptSlo } from '../config/index.js';
import type { Clock } from '../core/index.js';
import { evaluateWindow, WindowStatsCollector, type WindowVerdict } from '../router/index.js';

/** Feedback of one version in one window: how many scores and their mean. */
export interface ScoreWindow {
  count: number;
  mean: number;
}

export interface AccuracyBreach {
  metric: 'accuracy';
  value: number;
  threshold: number;
  against: 'absolute' | 'stable';
}

/** A canary version's feedback against the absolute floor and against stable's in the same window (pure). */
export function accuracyBreach(canary: ScoreWindow | undefined, stable: ScoreWindow | undefined, slo: PromptSlo): AccuracyBreach | undefined {
  if (!canary || canary.count < slo.minRequests) return undefined;
  if (slo.minAccuracy !== undefined && canary.mean < slo.minAccuracy)
    return { metric: 'accuracy', value: canary.mean, threshold: slo.minAccuracy, against: 'absolute' };
  if (stable && stable.count >= slo.minRequests && canary.mean < stable.mean - slo.accuracyMargin)
    return { metric: 'accuracy', value: canary.mean, threshold: stable.mean - slo.accuracyMargin, against: 'stable' };
  return undefined;
}

export interface RolledBack {
  version: number;
  at: string;
  reason: string;
}

export class PromptWatch {
  private outcomes = new WindowStatsCollector();
  private scores = new Map<number, { sum: number; count: number }>();
  private windowStarted: number;
  /** Per canary version: the verdicts of the windows so far (errors and latency), and its accuracy breaches in a row. */
  private readonly history = new Map<number, WindowVerdict[]>();
  private readonly accuracyRun = new Map<number, number>();
  readonly rolledBack: RolledBack[] = [];

  constructor(
    private readonly slo: PromptSlo,
    private readonly stable: number,
    private readonly clock: Clock,
  ) {
    this.windowStarted = clock.now();
  }

  isRolledBack(version: number): boolean {
    return this.rolledBack.some((r) => r.version === version);
  }

  record(version: number, outcome: { ok: boolean; latencyMs: number }): void {
    this.roll();
    this.outcomes.record(String(version), outcome);
  }

  feedback(version: number, score: number): void {
    this.roll();
    const s = this.scores.get(version) ?? { sum: 0, count: 0 };
    this.scores.set(version, { sum: s.sum + score, count: s.count + 1 });
  }

  /** Closes the window when its time is up and judges each canary version. */
  roll(): void {
    if (this.clock.now() - this.windowStarted < this.slo.windowSeconds * 1000) return;
    this.windowStarted = this.clock.now();
    const stats = this.outcomes.roll();
    const scores = new Map([...this.scores].map(([v, s]) => [v, { count: s.count, mean: s.sum / s.count }]));
    this.scores = new Map();
    const versions = new Set([...stats.keys()].map(Number).concat([...scores.keys()]));
    for (const version of versions) {
      if (version === this.stable || this.isRolledBack(version)) continue;
      const verdict = evaluateWindow(stats.get(String(version)), stats.get(String(this.stable)), this.slo);
      const history = this.history.get(version) ?? [];
      history.push(verdict);
      this.history.set(version, history);
      const accuracy = accuracyBreach(scores.get(version), scores.get(this.stable), this.slo);
      this.accuracyRun.set(version, accuracy ? (this.accuracyRun.get(version) ?? 0) + 1 : 0);
      const errorRun = trailing(history, 'error_rate');
      const latencyRun = trailing(history, 'latency');
      const reason =
        accuracy && this.accuracyRun.get(version)! >= this.slo.accuracyWindows
          ? `feedback ${accuracy.value.toFixed(3)} below ${accuracy.threshold.toFixed(3)} (${accuracy.against})`
          : errorRun >= this.slo.errorWindows
            ? 'error rate over its limit'
            : latencyRun >= this.slo.latencyWindows
              ? 'latency over its limit'
              : undefined;
      if (reason) this.rolledBack.push({ version, at: new Date().toISOString(), reason });
    }
  }
}

/** How many of the latest windows in a row breached on this kind. */
function trailing(history: readonly WindowVerdict[], kind: 'error_rate' | 'latency'): number {
  let n = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    const v = history[i]!;
    if (v.kind === 'breach' && v.breaches.some((b) => b.kind === kind)) n++;
    else break;
  }
  return n;
}
