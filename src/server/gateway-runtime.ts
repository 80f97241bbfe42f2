// The gateway while it runs: the live generation of pools, its releases and alerts, and hot reload of the config file
// (watched, SIGHUP, or the admin API): a valid config replaces the pools without dropping a call; an invalid one is
// refused with its reason and the running config stays.
import { unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { FastifyBaseLogger } from 'fastify';
import { ConfigError, loadGatewayConfig, type GatewayConfig, type ModelPaths } from '../config/index.js';
import { seededRandom, systemClock, withChoices, type ChatModel, type Clock, type EmbeddingModel } from '../core/index.js';
import { evaluateAlerts, type GatewayMetrics, WebhookNotifier, type AlertState, type EngineGauges, type ModelSnapshot } from '../observability/index.js';
import {
  buildGateway,
  liveEmbeddings,
  LiveGateway,
  ReleaseManager,
  ReleaseRouter,
  WindowStatsCollector,
  withReleaseEmbeddings,
  type BuildOptions,
  type Gateway,
  type RolloutListener,
} from '../router/index.js';
import type { Tenancy } from '../tenancy/index.js';
import type { ReplicaStatus } from './app.js';
import { withModelAliases } from './model-aliases.js';

export interface RuntimeOptions {
  metrics: GatewayMetrics;
  engineGauges: EngineGauges[];
  tenancy: Tenancy;
  logger?: FastifyBaseLogger;
  paths?: ModelPaths;
  seed?: number;
  clock?: Clock;
  /** How long a replaced generation may take to finish its calls before it is closed anyway. */
  drainMs: number;
  /** The config file, for reloads from disk. */
  configPath?: string;
  /** Told of every replica DNS discovery adds or drains (they are logged as well). */
  onDiscovery?: BuildOptions['onDiscovery'];
  /** With `embedded:` in the config: told of each embedded model's loads and unloads (they are logged as well). */
  embeddedModels?: BuildOptions['embeddedModels'];
  /**
   * n > 1 and the response cache around the pools, below the release routing: a release's answers are cached per
   * version, so a promotion serves the new version at once and a canary gets its share of cacheable requests too.
   */
  withCache?: (model: ChatModel) => ChatModel;
  /** The same for embeddings. */
  withEmbeddingCache?: (embedder: EmbeddingModel) => EmbeddingModel;
}

export interface ReloadStatus {
  generation: number;
  loadedAt: string;
  lastError: string | null;
  lastAttemptAt: string | null;
}

/** The pools of a config, built the same way at start and on every reload. */
const build = (config: GatewayConfig, o: RuntimeOptions): Promise<Gateway> =>
  buildGateway(config, {
    metrics: o.metrics,
    paths: o.paths,
    seed: o.seed,
    clock: o.clock,
    onDiscovery: (event) => {
      const { model, change, replica, error } = event;
      if (change === 'lookup_failed') o.logger?.warn({ model, err: error }, `DNS lookup for ${model}'s replicas failed; its replicas stay as they were`);
      else o.logger?.info({ model, replica }, `replica ${replica} ${change === 'added' ? 'added to' : 'drained from'} ${model} (DNS)`);
      o.onDiscovery?.(event);
    },
    embeddedModels: {
      loaded(model) {
        o.logger?.info({ model }, 'model loaded');
        o.embeddedModels?.loaded(model);
      },
      unloaded(model, reason) {
        o.logger?.info({ model, reason }, 'model unloaded');
        o.embeddedModels?.unloaded(model, reason);
      },
      watch: (states) => o.embeddedModels?.watch(states),
    },
  });

export class GatewayRuntime {
  readonly live: LiveGateway;
  readonly releases: ReleaseManager;
  /**
   * Embeddings of every model whose replicas embed, and of every release whose versions do (split as chat is),
   * followed across reloads.
   */
  readonly embeddings: EmbeddingModel;
  private readonly notifier: WebhookNotifier;
  private readonly outcomes = new WindowStatsCollector();
  private alertState: AlertState = new Map();
  private alertTimer?: NodeJS.Timeout;
  private watcher?: () => void;
  private debounce?: NodeJS.Timeout;
  private generationId = 1;
  private reloading: Promise<void> = Promise.resolve();
  private status: ReloadStatus;

  private constructor(
    private config: GatewayConfig,
    private gateway: Gateway,
    private readonly options: RuntimeOptions,
  ) {
    const clock = options.clock ?? systemClock;
    this.notifier = new WebhookNotifier(config.alerts.webhooks, config.alerts.retries, options.logger);
    const onRollout: RolloutListener = (event) => {
      options.logger?.info({ release: event.state.release, status: event.state.status, reason: event.state.reason }, `rollout ${event.type}`);
      void this.notifier.send({
        type: `rollout.${event.type}`,
        release: event.state.release,
        stable: event.state.stable,
        canary: event.state.canary,
        status: event.state.status,
        reason: event.state.reason,
        evidence: event.evidence,
      });
    };
    this.releases = new ReleaseManager(config.releases, clock, options.tenancy.rolloutStore(), onRollout);
    this.live = new LiveGateway(this.generation(gateway));
    const pools = liveEmbeddings(() => ({ config: this.config, pools: this.gateway.pools }), {
      clock,
      random: seededRandom(options.seed ?? Date.now()),
      metrics: options.metrics,
    });
    this.embeddings = withReleaseEmbeddings(options.withEmbeddingCache?.(pools) ?? pools, this.releases, (m, o) => {
      if (this.config.alerts.rules.length > 0) this.outcomes.record(m, o);
    });
    this.status = { generation: 1, loadedAt: new Date().toISOString(), lastError: null, lastAttemptAt: null };
    options.engineGauges.splice(0, options.engineGauges.length, ...gateway.gauges);
    this.scheduleAlerts();
  }

  static async start(config: GatewayConfig, options: RuntimeOptions): Promise<GatewayRuntime> {
    return new GatewayRuntime(config, await build(config, options), options);
  }

  private generation(gateway: Gateway) {
    // Without releases or alert rules there are no versions to route and no outcomes to keep: the pools answer
    // directly. A reload that adds either builds a new generation, and this is decided again.
    const idle = this.releases.names().length === 0 && this.config.alerts.rules.length === 0;
    const pools = this.options.withCache?.(gateway.router) ?? withChoices(gateway.router);
    const model = idle
      ? pools
      : new ReleaseRouter(pools, this.releases, (m, o) => {
          // Outcomes are kept for the alert rules' windows only while there are rules to read them.
          if (this.config.alerts.rules.length > 0) this.outcomes.record(m, o);
        });
    return { id: this.generationId, model: withModelAliases(model, this.config.aliases), close: () => gateway.close() };
  }

  get reloadStatus(): ReloadStatus {
    return { ...this.status, generation: this.live.generation };
  }

  get pools(): Gateway['pools'] {
    return this.gateway.pools;
  }

  /** Every replica of every pool now serving, for the dashboard. */
  replicaStatus(): ReplicaStatus[] {
    return [...this.gateway.pools].flatMap(([model, pool]) =>
      pool.replicas.map((r) => ({
        model,
        id: r.id,
        available: r.available(),
        breaker: r.breaker.state,
        outstanding: r.outstanding,
        ewmaTtftMs: r.ewmaTtftMs === undefined ? null : Math.round(r.ewmaTtftMs),
      })),
    );
  }

  get currentConfig(): GatewayConfig {
    return this.config;
  }

  /** Replaces the pools with ones built from `config`; calls already running finish where they started. */
  reload(config: GatewayConfig): Promise<void> {
    // One reload at a time, in the order asked.
    const run = this.reloading.then(async () => {
      const gateway = await build(config, this.options);
      this.generationId++;
      this.releases.reconfigure(config.releases);
      this.gateway = gateway;
      this.config = config;
      this.options.engineGauges.splice(0, this.options.engineGauges.length, ...gateway.gauges);
      this.options.tenancy.applyConfigTenants(config);
      this.notifier.reconfigure(config.alerts.webhooks, config.alerts.retries);
      this.scheduleAlerts();
      this.status = { generation: this.generationId, loadedAt: new Date().toISOString(), lastError: null, lastAttemptAt: new Date().toISOString() };
      await this.live.swap(this.generation(gateway), this.options.drainMs);
    });
    this.reloading = run.catch(() => undefined);
    return run;
  }

  /** Reads the config file again; a file that does not validate is refused and reported, and nothing changes. */
  async reloadFromFile(): Promise<void> {
    if (!this.options.configPath) throw new ConfigError('this gateway was not started from a config file');
    let config: GatewayConfig;
    try {
      config = await loadGatewayConfig(this.options.configPath);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.status = { ...this.status, lastError: reason, lastAttemptAt: new Date().toISOString() };
      this.options.logger?.error({ reason }, 'config reload refused; the running config stays');
      void this.notifier.send({ type: 'config.reload_failed', reason });
      throw err;
    }
    await this.reload(config);
    this.options.logger?.info({ generation: this.live.generation }, 'config reloaded');
  }

  /**
   * Reloads when the file changes, seen by its path's stat every half second. Not an inotify watch: one on the file
   * follows its inode, which an editor that saves by renaming a new file over the old one (sed -i, vim, os.replace,
   * most IDEs) or a Kubernetes ConfigMap update leaves behind; one on the folder woke the server at every write into
   * it, its own database, journal and log among them when they sit beside the config (7% more CPU a request, measured
   * so). Editors also write in several steps: changes are gathered for a moment, and a file whose text did not change
   * is not reloaded.
   */
  watchFile(): void {
    const path = this.options.configPath;
    if (!path || this.watcher) return;
    let seen: string | undefined;
    void readFile(path, 'utf8').then(
      (text) => (seen ??= text),
      () => undefined,
    );
    const changed = async () => {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        // Mid-save (renamed away, not yet written again): the next event brings the new file.
        return;
      }
      if (text === seen) return;
      seen = text;
      await this.reloadFromFile().catch(() => undefined);
    };
    // Called only when the path's stat changed (libuv compares it); the text comparison decides whether to reload.
    this.watcher = () => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void changed(), 150);
    };
    // Not persistent: the watch alone does not keep a stopped server's process alive.
    watchFile(path, { interval: 500, persistent: false }, this.watcher);
  }

  private scheduleAlerts(): void {
    clearInterval(this.alertTimer);
    const { rules, windowSeconds } = this.config.alerts;
    if (rules.length === 0) return;
    this.alertTimer = setInterval(() => this.evaluateAlerts(), windowSeconds * 1000).unref();
  }

  private evaluateAlerts(): void {
    const windows = this.outcomes.roll();
    const snapshot = new Map<string, ModelSnapshot>();
    for (const [model, w] of windows) snapshot.set(model, { errorRate: w.errorRate, p99LatencyMs: w.p99LatencyMs });
    for (const [model, pool] of this.gateway.pools) {
      const s = snapshot.get(model) ?? {};
      s.breakersOpen = pool.replicas.filter((r) => r.breaker.state === 'open').length;
      snapshot.set(model, s);
    }
    for (const g of this.options.engineGauges) {
      const model = g.model.split('/')[0]!;
      const s = snapshot.get(model) ?? {};
      s.queueDepth = (s.queueDepth ?? 0) + g.stats().queueDepth;
      snapshot.set(model, s);
    }
    const { events, state } = evaluateAlerts(this.config.alerts.rules, snapshot, this.alertState);
    this.alertState = state;
    for (const e of events) void this.notifier.send({ ...e });
  }

  async close(): Promise<void> {
    clearInterval(this.alertTimer);
    clearTimeout(this.debounce);
    if (this.watcher && this.options.configPath) unwatchFile(this.options.configPath, this.watcher);
    this.releases.close();
    await this.reloading;
    await this.live.close();
  }
}
