// One release's rollout: the canary's share of traffic, stepped up while healthy and dropped to zero on an SLO breach.
import type { ReleaseConfig } from '../../config/index.js';
import type { Clock } from '../../core/index.js';
import { decide, evaluateWindow, type Breach, type WindowVerdict } from './slo-rules.js';
import type { WindowStats } from './window-stats.js';

export type RolloutStatus = 'stable' | 'ramping' | 'promoted' | 'rolled_back' | 'aborted';

/** What is kept across restarts. Times are wall-clock epoch milliseconds, meaningful to people and to a new process. */
export interface RolloutState {
  release: string;
  stable: string;
  canary: string | null;
  status: RolloutStatus;
  step: number;
  /** When the current step began. */
  stepStartedMs: number;
  reason: string | null;
  /** When the state last changed. */
  updatedMs: number;
}

/** A rollout as the admin API shows it: the kept state, its times also in ISO 8601, and the canary's share now. */
export type RolloutSnapshot = RolloutState & { stepStartedAt: string; updatedAt: string; canaryPercent: number; steps: number[] };

/** Epoch milliseconds before 2001: a state kept by a version that stored the monotonic clock there, not a time. */
const EPOCH_2001 = 978_307_200_000;

export interface RolloutStore {
  load(release: string): RolloutState | undefined;
  save(state: RolloutState): void;
}

/** Told when a rollout changes by itself or by an operator. */
export type RolloutListener = (event: { type: 'advanced' | 'promoted' | 'rolled_back' | 'aborted'; state: RolloutState; evidence?: unknown }) => void;

export class CanaryRollout {
  private state: RolloutState;
  private history: WindowVerdict[] = [];
  /**
   * When the current step began on the monotonic clock, which times the hold: the wall clock can jump (NTP, a resumed
   * VM) and would cut a hold short or stretch it.
   */
  private stepStartedMonotonic = 0;

  /** `clock` times holds; `wallNow` (epoch ms) stamps what is reported and kept. */
  constructor(
    readonly release: string,
    private config: ReleaseConfig,
    private readonly clock: Clock,
    private readonly store: RolloutStore | undefined,
    private readonly listener: RolloutListener = () => undefined,
    private readonly wallNow: () => number = Date.now,
  ) {
    this.state = this.initial(store?.load(release));
  }

  /**
   * A persisted state is resumed only if it is about the same canary; a new canary starts a new rollout. A resumed
   * step keeps the time it had held before the restart.
   */
  private initial(saved: RolloutState | undefined): RolloutState {
    const canary = this.config.canary?.version ?? null;
    const wall = this.wallNow();
    if (saved && saved.canary === canary && saved.stable === this.config.stable) {
      const resumed = saved.stepStartedMs >= EPOCH_2001 ? saved : { ...saved, stepStartedMs: wall, updatedMs: wall };
      this.stepStartedMonotonic = this.clock.now() - Math.max(0, wall - resumed.stepStartedMs);
      if (resumed !== saved) this.store?.save(resumed);
      return resumed;
    }
    this.stepStartedMonotonic = this.clock.now();
    const fresh: RolloutState = {
      release: this.release,
      stable: this.config.stable,
      canary,
      status: canary ? 'ramping' : 'stable',
      step: 0,
      stepStartedMs: wall,
      reason: null,
      updatedMs: wall,
    };
    this.store?.save(fresh);
    return fresh;
  }

  /** A reloaded config: the same canary keeps its progress, a different one starts over. */
  reconfigure(config: ReleaseConfig): void {
    const sameCanary = config.canary?.version === this.config.canary?.version && config.stable === this.config.stable;
    this.config = config;
    if (!sameCanary) {
      this.history = [];
      this.state = this.initial(undefined);
    }
  }

  get snapshot(): RolloutSnapshot {
    return {
      ...this.state,
      stepStartedAt: new Date(this.state.stepStartedMs).toISOString(),
      updatedAt: new Date(this.state.updatedMs).toISOString(),
      canaryPercent: this.canaryPercent,
      steps: this.config.canary?.steps ?? [],
    };
  }

  get stableVersion(): string {
    return this.config.stable;
  }

  get canaryVersion(): string | undefined {
    return this.config.canary?.version;
  }

  get canaryPercent(): number {
    switch (this.state.status) {
      case 'ramping':
        return this.config.canary?.steps[this.state.step] ?? 0;
      case 'promoted':
        return 100;
      default:
        return 0;
    }
  }

  get windowSeconds(): number {
    return this.config.slo.windowSeconds;
  }

  /** One closed window: judge the canary and move the rollout accordingly. */
  onWindow(canary: WindowStats | undefined, stable: WindowStats | undefined): void {
    if (this.state.status !== 'ramping' || !this.config.canary) return;
    const verdict = evaluateWindow(canary, stable, this.config.slo);
    this.history = [...this.history.slice(-20), verdict];
    const now = this.clock.now();
    const decision = decide(this.history, this.config.slo, now - this.stepStartedMonotonic, this.config.canary.holdSeconds * 1000);
    if (decision.action === 'rollback') {
      this.set({ status: 'rolled_back', reason: describe(decision.breaches) });
      this.listener({
        type: 'rolled_back',
        state: this.state,
        evidence: { canary, stable, breaches: decision.breaches, windowSeconds: this.config.slo.windowSeconds },
      });
    } else if (decision.action === 'advance') {
      const last = this.state.step >= this.config.canary.steps.length - 1;
      if (last) {
        this.set({ status: 'promoted', reason: 'every step held healthy' });
        this.listener({ type: 'promoted', state: this.state });
      } else {
        this.stepStartedMonotonic = now;
        this.set({ step: this.state.step + 1, stepStartedMs: this.wallNow() });
        this.history = [];
        this.listener({ type: 'advanced', state: this.state });
      }
    }
  }

  promote(by: string): void {
    if (!this.config.canary) throw new Error(`release '${this.release}' has no canary to promote`);
    this.set({ status: 'promoted', reason: `promoted by ${by}` });
    this.listener({ type: 'promoted', state: this.state });
  }

  abort(by: string): void {
    if (!this.config.canary) throw new Error(`release '${this.release}' has no canary to abort`);
    this.set({ status: 'aborted', reason: `aborted by ${by}` });
    this.listener({ type: 'aborted', state: this.state });
  }

  private set(change: Partial<RolloutState>): void {
    this.state = { ...this.state, ...change, updatedMs: this.wallNow() };
    this.store?.save(this.state);
  }
}

function describe(breaches: Breach[]): string {
  return breaches
    .map((b) => `${b.metric} ${round(b.value)} > ${round(b.threshold)} (${b.against === 'stable' ? 'relative to stable' : 'absolute'})`)
    .join('; ');
}

const round = (v: number) => (Math.abs(v) < 1 ? v.toFixed(3) : v.toFixed(0));
