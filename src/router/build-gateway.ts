// Builds the gateway from its config: engines for every replica, a pool per model, health checks, one router.
import { seededRandom, systemClock, type ChatModel, type Clock } from '../core/index.js';
import { modelPathsFromEnv, type GatewayConfig, type ModelConfig, type ModelPaths, type ReplicaConfig } from '../config/index.js';
import { apiKeyEnvOf, OpenAIEngine } from '../engines/openai/index.js';
import { SimEngine } from '../engines/sim/index.js';
import type { EngineGauges, GatewayMetrics } from '../observability/index.js';
import { DnsDiscovery, dnsLookup, targetId, type DnsTarget } from './dns-discovery.js';
import { embeddedSet, type EmbeddedModelHooks, type EmbeddedSet } from './embedded-set.js';
import { HealthChecker } from './health-checker.js';
import { createPolicy } from './policies/index.js';
import { Replica, type ReplicaEngine } from './replica.js';
import { ReplicaPool } from './replica-pool.js';
import { ModelRouter } from './router.js';

export interface Gateway {
  router: ChatModel;
  pools: Map<string, ReplicaPool>;
  gauges: EngineGauges[];
  close(): Promise<void>;
}

export interface BuildOptions {
  paths?: ModelPaths;
  metrics?: GatewayMetrics;
  clock?: Clock;
  /** Seeds tie-breaking and weighted choices, for reproducible routing. */
  seed?: number;
  env?: NodeJS.ProcessEnv;
  /** Told of what DNS discovery does: replicas added and drained, lookups that failed. */
  onDiscovery?: (event: { model: string; change: 'added' | 'drained' | 'lookup_failed'; replica?: string; error?: unknown }) => void;
  /** With `embedded:` in the config: told of each embedded model's loads and unloads. */
  embeddedModels?: EmbeddedModelHooks;
}

async function engineFor(
  model: string,
  config: ReplicaConfig,
  index: number,
  options: BuildOptions,
  embedded?: EmbeddedSet,
): Promise<{ id: string; engine: ReplicaEngine; gauges?: EngineGauges }> {
  switch (config.type) {
    case 'llama': {
      const { type: _type, id, weight: _weight, ...settings } = config;
      // Loaded on demand by the set, whose states the dashboard and /metrics read.
      if (embedded) return { id: id ?? `llama-${index}`, engine: embedded.engineOf(model, index) };
      // node-llama-cpp is loaded only when a config has an embedded replica: a remote-only gateway stays small.
      const { LlamaEngine } = await import('../engines/llama/index.js');
      const engine = await LlamaEngine.load({ ...settings, alias: model }, options.paths ?? modelPathsFromEnv());
      const replicaId = id ?? `llama-${index}`;
      return { id: replicaId, engine, gauges: { model: `${model}/${replicaId}`, stats: () => engine.stats } };
    }
    case 'openai': {
      const env = options.env ?? process.env;
      const keyEnv = apiKeyEnvOf(config);
      const apiKey = keyEnv ? env[keyEnv] : undefined;
      const replicaId = config.id ?? (config.baseUrl ? new URL(config.baseUrl).host : `${config.preset}-${index}`);
      const engine = new OpenAIEngine({
        model,
        upstreamModel: config.upstreamModel,
        preset: config.preset,
        baseUrl: config.baseUrl,
        apiKey,
        replica: replicaId,
        connections: config.connections,
        connectTimeoutMs: config.connectTimeoutMs,
        firstTokenTimeoutMs: config.firstTokenTimeoutMs,
        totalTimeoutMs: config.totalTimeoutMs,
        healthPath: config.healthPath,
      });
      return { id: replicaId, engine };
    }
    case 'sim': {
      const { type: _type, id, weight: _weight, ...settings } = config;
      const engine = new SimEngine({ ...settings, model }, options.clock);
      const replicaId = id ?? `sim-${index}`;
      const stats = () => ({ parallel: engine.stats.maxRunning, busySequences: engine.stats.running, queueDepth: engine.stats.waiting });
      return { id: replicaId, engine, gauges: { model: `${model}/${replicaId}`, stats } };
    }
  }
}

export async function buildGateway(config: GatewayConfig, options: BuildOptions = {}): Promise<Gateway> {
  const clock = options.clock ?? systemClock;
  const random = seededRandom(options.seed ?? Date.now());
  const pools = new Map<string, ReplicaPool>();
  const checkers: HealthChecker[] = [];
  const gauges: EngineGauges[] = [];
  const all: Replica[] = [];
  const discoveries: DnsDiscovery[] = [];
  const embedded = await embeddedSet(config, options.paths ?? modelPathsFromEnv(), options.embeddedModels);
  try {
    for (const [model, modelConfig] of Object.entries(config.models)) {
      const replicas: Replica[] = [];
      for (const [index, replicaConfig] of modelConfig.replicas.entries()) {
        const built = await engineFor(model, replicaConfig, index, options, embedded);
        const replica = new Replica(built.id, built.engine, replicaConfig.weight, modelConfig.breaker, clock);
        replicas.push(replica);
        all.push(replica);
        if (built.gauges) gauges.push(built.gauges);
      }
      pools.set(
        model,
        new ReplicaPool({
          model,
          replicas,
          policy: createPolicy(modelConfig.policy, random),
          retry: modelConfig.retry,
          clock,
          random,
          metrics: options.metrics,
        }),
      );
      const checker = new HealthChecker(replicas, modelConfig.health);
      checker.start(modelConfig.discover !== undefined);
      checkers.push(checker);
      if (modelConfig.discover) {
        const discovery = discover(model, modelConfig, pools.get(model)!, clock, options, all);
        discoveries.push(discovery);
        await discovery.start();
      }
    }
  } catch (err) {
    for (const d of discoveries) d.stop();
    for (const c of checkers) c.stop();
    await Promise.all(all.map((r) => r.close()));
    await embedded?.set.dispose();
    throw err;
  }
  return {
    router: new ModelRouter(pools),
    pools,
    gauges,
    async close() {
      for (const d of discoveries) d.stop();
      for (const c of checkers) c.stop();
      for (const p of pools.values()) p.close();
      await Promise.all(all.map((r) => r.close()));
      await embedded?.set.dispose();
    },
  };
}

/** A pool's replicas found by DNS: each new record becomes an OpenAI-compatible replica of the pool; a gone one drains. */
function discover(model: string, modelConfig: ModelConfig, pool: ReplicaPool, clock: Clock, options: BuildOptions, all: Replica[]): DnsDiscovery {
  const found = new WeakSet<Replica>();
  const { dns, record, port, basePath, intervalMs, nameservers, ...replicaSettings } = modelConfig.discover!;
  const tell = options.onDiscovery;
  return new DnsDiscovery(dnsLookup({ dns, record, port, nameservers }), intervalMs, {
    // Replicas listed by hand stay: only those DNS brought in are DNS's to drain.
    current: () => pool.replicas.filter((r) => !r.draining && found.has(r)).map((r) => r.id),
    async add(target: DnsTarget) {
      const id = targetId(target);
      const config: ReplicaConfig = { ...replicaSettings, id, baseUrl: `http://${id}${basePath}` };
      // The id is given, so the index (which only names replicas without one) is past those listed by hand.
      const built = await engineFor(model, config, modelConfig.replicas.length, options);
      const replica = new Replica(built.id, built.engine, replicaSettings.weight, modelConfig.breaker, clock);
      found.add(replica);
      all.push(replica);
      pool.add(replica);
      tell?.({ model, change: 'added', replica: id });
    },
    async drain(id: string) {
      const replica = pool.replicas.find((r) => r.id === id && found.has(r));
      await pool.drain(id);
      if (replica) {
        found.delete(replica);
        all.splice(all.indexOf(replica), 1);
      }
      tell?.({ model, change: 'drained', replica: id });
    },
    failed: (error) => tell?.({ model, change: 'lookup_failed', error }),
  });
}
