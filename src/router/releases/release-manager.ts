// The releases of a gateway: one rollout per release, each judged on its own windows, kept across config reloads.
import { versionedName, type ReleaseConfig } from '../../config/index.js';
import type { Clock } from '../../core/index.js';
import { CanaryRollout, type RolloutListener, type RolloutStore } from './canary-rollout.js';
import { inCanary } from './version-split.js';
import { WindowStatsCollector } from './window-stats.js';

export interface Outcome {
  ok: boolean;
  latencyMs: number;
  ttftMs?: number;
}

/** Where a call to a release goes. */
export interface Route {
  model: string;
  /** Set when `model` is the canary: the stable version, which answers if the canary fails before its first byte. */
  fallback?: string;
}

interface Release {
  rollout: CanaryRollout;
  stats: WindowStatsCollector;
  timer?: NodeJS.Timeout;
  config: ReleaseConfig;
}

export class ReleaseManager {
  private readonly releases = new Map<string, Release>();

  constructor(
    configs: Record<string, ReleaseConfig>,
    private readonly clock: Clock,
    private readonly store: RolloutStore | undefined,
    private readonly listener: RolloutListener,
  ) {
    this.reconfigure(configs);
  }

  /** Applies a (re)loaded config: rollouts of unchanged canaries keep their progress; removed releases stop. */
  reconfigure(configs: Record<string, ReleaseConfig>): void {
    for (const [name, release] of this.releases) {
      if (!configs[name]) {
        clearInterval(release.timer);
        this.releases.delete(name);
      }
    }
    for (const [name, config] of Object.entries(configs)) {
      const existing = this.releases.get(name);
      if (existing) {
        const windowChanged = existing.config.slo.windowSeconds !== config.slo.windowSeconds;
        existing.rollout.reconfigure(config);
        existing.config = config;
        if (windowChanged) this.schedule(existing);
      } else {
        const release: Release = { rollout: new CanaryRollout(name, config, this.clock, this.store, this.listener), stats: new WindowStatsCollector(), config };
        this.releases.set(name, release);
        this.schedule(release);
      }
    }
  }

  private schedule(release: Release): void {
    clearInterval(release.timer);
    release.timer = setInterval(() => this.closeWindow(release), release.config.slo.windowSeconds * 1000).unref();
  }

  private closeWindow(release: Release): void {
    const windows = release.stats.roll();
    const { rollout } = release;
    const canary = rollout.canaryVersion;
    rollout.onWindow(canary ? windows.get(canary) : undefined, windows.get(rollout.stableVersion));
  }

  has(name: string): boolean {
    return this.releases.has(name);
  }

  names(): string[] {
    return [...this.releases.keys()];
  }

  rollout(name: string): CanaryRollout | undefined {
    return this.releases.get(name)?.rollout;
  }

  rollouts(): CanaryRollout[] {
    return [...this.releases.values()].map((r) => r.rollout);
  }

  stickyBy(name: string): ReleaseConfig['stickyBy'] {
    return this.releases.get(name)!.config.stickyBy;
  }

  /**
   * The versioned model a call to a release goes to, and, when that is the canary, the stable version to answer
   * instead if the canary fails before sending anything.
   */
  route(name: string, stickyKey: string | undefined): Route {
    const rollout = this.releases.get(name)!.rollout;
    const canary = rollout.canaryVersion;
    const percent = rollout.canaryPercent;
    // Without a key to stick to, each call is placed on its own by a fresh random draw.
    const toCanary = canary !== undefined && (stickyKey === undefined ? Math.random() * 100 < percent : inCanary(stickyKey, percent));
    const stable = versionedName(name, rollout.stableVersion);
    return toCanary && canary !== rollout.stableVersion ? { model: versionedName(name, canary), fallback: stable } : { model: stable };
  }

  /** The stable version of a release, as a versioned model name. */
  stableModel(name: string): string {
    return versionedName(name, this.releases.get(name)!.rollout.stableVersion);
  }

  /** Counts a finished call to one version of a release, pinned or routed. */
  record(model: string, outcome: Outcome): void {
    const at = model.lastIndexOf('@');
    if (at < 0) return;
    this.releases.get(model.slice(0, at))?.stats.record(model.slice(at + 1), outcome);
  }

  close(): void {
    for (const r of this.releases.values()) clearInterval(r.timer);
  }
}
