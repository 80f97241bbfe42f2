// `autoglm serve`: one command from a GGUF file to an OpenAI-compatible API.
import { statSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  engineSettingsSchema,
  KV_CACHE_TYPES,
  SPECULATIVE_MODES,
  loadGatewayConfig,
  modelSetSettingsSchema,
  reasoningConfigSchema,
  serverSettingsSchema,
  type EngineSettingsInput,
  type ModelSetSettings,
  type ServerSettings,
} from '../config/index.js';
import { ModelUnavailableError } from '../core/index.js';
import { LOG_FORMATS, serveGateway, serveModel, serverLogger as createServerLogger, type LogFormat, type RunningServer } from '../server/index.js';
import { fail } from './errors.js';
import { boundHeapGrowth } from './heap-growth.js';
import { indexSummary } from './index-command.js';
import { anyNumber, byteSize, formatBytes, positiveInteger, positiveNumber } from './number-options.js';
import { handleShutdown } from './shutdown.js';

interface ServeFlags {
  config?: string;
  model?: string[];
  alias?: string[];
  keepAlive?: number;
  maxLoadedModels?: number;
  maxLoadedSize?: number;
  host?: string;
  port?: number;
  parallel?: number;
  contextSize?: number;
  batchSize?: number;
  threads?: number;
  gpu?: string;
  quantize?: string;
  maxQueue?: number;
  chatTemplate?: string;
  embeddingsOnly?: boolean;
  gpuLayers?: number | 'auto' | 'max';
  flashAttention?: 'auto' | 'on' | 'off';
  kvCacheKeyType?: (typeof KV_CACHE_TYPES)[number];
  kvCacheValueType?: (typeof KV_CACHE_TYPES)[number];
  mmap?: boolean;
  mlock?: boolean;
  speculative?: (typeof SPECULATIVE_MODES)[number];
  draftModel?: string;
  draftTokens?: number;
  bodyLimit?: number;
  drainSeconds?: number;
  drainDelay?: number;
  auth?: boolean;
  database?: string;
  redis?: string;
  cache?: boolean;
  index?: string;
  headersTimeout?: number;
  bodyTimeout?: number;
  keepAliveTimeout?: number;
  maxConnections?: number;
  maxHeaderSize?: number;
  streamStallTimeout?: number;
  streamQueueLimit?: number;
  logLevel: string;
  logFormat?: LogFormat;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve a GGUF model behind an OpenAI-compatible API')
    .option('--config <file>', 'gateway config (YAML): many models, each a pool of replicas')
    .option('-m, --model <spec>', 'GGUF path, model name, or hf:owner/repo/file.gguf (env AUTOGLM_MODEL); repeat to serve several', collect)
    .option('--alias <name>', 'name clients use for the model; with several, one per --model, in order', collect)
    .option('--keep-alive <s>', 'seconds a model stays loaded after its last request; -1: always (default 300 with several models)', anyNumber)
    .option('--max-loaded-models <n>', 'models in memory at once; the least recently used idle one gives way (default 3)', positiveInteger)
    .option('--max-loaded-size <size>', 'bytes of model files in memory at once, e.g. 8GiB (default: no limit)', byteSize)
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('-p, --port <port>', 'port to listen on (default 8080)', anyNumber)
    .option('--parallel <n>', 'sequences decoded together', anyNumber)
    .option('-c, --context-size <tokens>', 'context tokens per sequence', anyNumber)
    .option('--batch-size <tokens>', 'tokens per llama.cpp batch', anyNumber)
    .option('-t, --threads <n>', 'CPU threads for llama.cpp (default: cores - 1)', anyNumber)
    .option('--gpu <backend>', 'auto | off | cuda | vulkan | metal')
    .option('-q, --quantize <type>', 'quantize once into the cache, then serve (q8_0, q4_k_m, ...)')
    .option('--max-queue <n>', 'requests that may wait for a sequence before 429', anyNumber)
    .option('--chat-template <name>', 'auto | chatml | llama2 | general')
    .option('--embeddings-only', 'serve /v1/embeddings only: load no chat context')
    .option('--gpu-layers <n>', 'model layers offloaded to the GPU: a count, auto (what fits) or max; refused without a GPU', gpuLayers)
    .addOption(new Option('--flash-attention <mode>', 'flash attention where the model and backend support it (default auto)').choices(['auto', 'on', 'off']))
    .addOption(new Option('--kv-cache-key-type <type>', 'KV-cache key type, like llama-server --cache-type-k (default f16)').choices(KV_CACHE_TYPES))
    .addOption(
      new Option('--kv-cache-value-type <type>', 'KV-cache value type, like --cache-type-v; quantized needs flash attention (default f16)').choices(
        KV_CACHE_TYPES,
      ),
    )
    .option('--no-mmap', 'read the model file into memory instead of mapping it')
    .option('--mlock', 'lock the model in RAM (never swapped out); refused where the process may not lock that much')
    .addOption(
      new Option('--speculative <mode>', 'speculative decoding: off, lookup (guess from the prompt) or draft (--draft-model)').choices(SPECULATIVE_MODES),
    )
    .option('--draft-model <gguf>', 'draft model for --speculative draft: a small model with the same vocabulary')
    .option('--draft-tokens <n>', 'tokens guessed ahead at most per step (default 8)', positiveInteger)
    .option('--body-limit <size>', 'largest request body accepted: bytes, or a size such as 4MiB, 512k, 4 MB', byteSize)
    .option('--drain-seconds <s>', 'how long Ctrl-C waits for in-flight requests', anyNumber)
    .option('--drain-delay <s>', 'after SIGTERM, seconds /ready is 503 while requests are still served, before draining (default 0)', anyNumber)
    .option('--auth', 'require API keys (create them with `autoglm keys create`)')
    .option('--database <file>', 'SQLite file for tenants, keys and the usage ledger')
    .option('--redis <url>', 'share limits and the cache with other processes through Redis')
    .option('--cache', 'cache answers to deterministic requests (temperature 0 or a seed)')
    .option('--index <file>', 'document index for the rag strategy (made by `autoglm index add`)')
    .option('--headers-timeout <s>', "seconds a request's headers have to arrive (default 10; 408 after)", positiveNumber)
    .option('--body-timeout <s>', "seconds a request's body has to arrive after its headers (default 30; 408 after)", positiveNumber)
    .option('--keep-alive-timeout <s>', 'seconds an idle keep-alive connection stays open (default 5)', positiveNumber)
    .option('--max-connections <n>', 'open connections accepted at once; more are refused (default 4096)', positiveInteger)
    .option('--max-header-size <size>', 'largest header section accepted (default 16 KiB; 431 above)', byteSize)
    .option('--stream-stall-timeout <s>', 'seconds a stream waits on a client that reads nothing before it is cut (default 60)', positiveNumber)
    .option('--stream-queue-limit <size>', 'bytes a stream may queue for a slow client before it is cut (default 8 MiB)', byteSize)
    .addOption(
      new Option('--log-level <level>', 'warn: failures only; info: one line per request')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info'),
    )
    .addOption(new Option('--log-format <format>', 'json, or pretty: one readable line per event (default: pretty on a terminal)').choices(LOG_FORMATS))
    .action(async (flags: ServeFlags) => {
      try {
        boundHeapGrowth();
        await runServe(flags);
      } catch (err) {
        fail(err);
      }
    });
}

/** Logs to stderr (stdout carries the banner) and keeps serving through a bug in one request's handling. */
function serverLogger(level: string, format: LogFormat | undefined) {
  const logger = createServerLogger(level, format);
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  return logger;
}

/** The server settings given as flags; the others keep the config file's value, or the default. */
function serverFlags(flags: ServeFlags): Partial<ServerSettings> {
  return Object.fromEntries(
    Object.entries({
      host: flags.host,
      port: flags.port,
      bodyLimitBytes: flags.bodyLimit,
      drainSeconds: flags.drainSeconds,
      drainDelaySeconds: flags.drainDelay,
      headersTimeoutSeconds: flags.headersTimeout,
      bodyTimeoutSeconds: flags.bodyTimeout,
      keepAliveTimeoutSeconds: flags.keepAliveTimeout,
      maxConnections: flags.maxConnections,
      maxHeaderBytes: flags.maxHeaderSize,
      streamStallSeconds: flags.streamStallTimeout,
      streamQueueLimitBytes: flags.streamQueueLimit,
    }).filter(([, v]) => v !== undefined),
  );
}

/** `--gpu-layers`: a count of layers, or auto / max. */
function gpuLayers(v: string): number | 'auto' | 'max' {
  if (v === 'auto' || v === 'max') return v;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError('It must be a whole number of layers (0 or more), auto or max.');
  return n;
}

/** The speculative flags; a draft model alone means draft mode, and draft mode without one is refused in one line. */
function speculativeFlags(flags: ServeFlags): EngineSettingsInput['speculative'] {
  const mode = flags.speculative ?? (flags.draftModel ? 'draft' : undefined);
  if (mode === undefined && flags.draftTokens === undefined) return undefined;
  if (mode === 'draft' && !flags.draftModel)
    throw new ModelUnavailableError('--speculative draft needs --draft-model <gguf> (a small model with the same vocabulary), or use --speculative lookup');
  if (mode !== 'draft' && flags.draftModel) throw new ModelUnavailableError(`--draft-model is used only with --speculative draft, not ${mode}`);
  return { mode: mode ?? 'off', draftModel: flags.draftModel, draftTokens: flags.draftTokens };
}

/** A repeatable flag's values, in the order given. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function runServe(flags: ServeFlags): Promise<void> {
  if (flags.config) return runGateway(flags);
  const specs = flags.model ?? [process.env.AUTOGLM_MODEL ?? undefined];
  const aliases = flags.alias ?? [];
  if (aliases.length > specs.length) {
    throw new ModelUnavailableError(`${aliases.length} --alias for ${specs.length} --model: give at most one --alias per --model, in the same order`);
  }
  const shared: EngineSettingsInput = {
    parallel: flags.parallel,
    contextSize: flags.contextSize,
    batchSize: flags.batchSize,
    threads: flags.threads,
    gpu: flags.gpu as EngineSettingsInput['gpu'],
    quantize: flags.quantize as EngineSettingsInput['quantize'],
    maxQueue: flags.maxQueue,
    chatTemplate: flags.chatTemplate as EngineSettingsInput['chatTemplate'],
    embeddingsOnly: flags.embeddingsOnly,
    gpuLayers: flags.gpuLayers,
    flashAttention: flags.flashAttention,
    kvCacheKeyType: flags.kvCacheKeyType,
    kvCacheValueType: flags.kvCacheValueType,
    mmap: flags.mmap,
    mlock: flags.mlock,
    speculative: speculativeFlags(flags),
  };
  const [engine, ...moreModels] = specs.map((model, i) => engineSettingsSchema.parse({ ...shared, model, alias: aliases[i] }));
  const setFlags = Object.fromEntries(
    Object.entries({ keepAlive: flags.keepAlive, maxLoadedModels: flags.maxLoadedModels, maxLoadedBytes: flags.maxLoadedSize }).filter(
      ([, v]) => v !== undefined,
    ),
  );
  // Keep-alive and the budget are about several models; one model stays loaded, unless a keep-alive is asked for.
  const modelSet = moreModels.length || flags.keepAlive !== undefined ? modelSetSettingsSchema.parse(setFlags) : undefined;
  const server = serverSettingsSchema.parse(serverFlags(flags));
  const quantizing = engine!.quantize ? ` (quantizing to ${engine!.quantize})` : '';
  process.stderr.write(
    `autoglm: loading ${engine!.model}${quantizing}${moreModels.length ? `; ${moreModels.map((m) => m.model).join(', ')} on first use` : ''}...\n`,
  );
  const logger = serverLogger(flags.logLevel, flags.logFormat);
  const tenancy = { auth: { enabled: Boolean(flags.auth) }, database: flags.database, redis: flags.redis, cache: flags.cache ? {} : undefined };
  const reasoning = reasoningConfigSchema.parse(flags.index ? { retrieval: { index: flags.index } } : {});
  // A missing index is refused before the model loads, rather than served as a rag with no sources.
  const index = reasoning.retrieval ? indexSummary(reasoning.retrieval.index) : undefined;
  const running = await serveModel({ engine: engine!, moreModels, modelSet, server, logger, tenancy, reasoning });
  printBanner(running, index, flags.logLevel, modelSet);
  handleShutdown(running);
}

async function runGateway(flags: ServeFlags): Promise<void> {
  const config = await loadGatewayConfig(flags.config!);
  const index = config.reasoning.retrieval ? indexSummary(config.reasoning.retrieval.index) : undefined;
  const overrides = serverFlags(flags);
  const logger = serverLogger(flags.logLevel, flags.logFormat);
  process.stderr.write(`autoglm: starting gateway from ${flags.config}...\n`);
  const configOverrides = {
    ...(flags.auth ? { auth: { enabled: true } } : {}),
    ...(flags.database ? { database: flags.database } : {}),
    ...(flags.redis ? { redis: flags.redis } : {}),
  };
  const running = await serveGateway({ ...config, ...configOverrides }, { logger, serverOverrides: overrides, configPath: flags.config, watch: true });
  const { runtime } = running.served;
  // SIGHUP reloads the config file, as with most servers; edits to the file are picked up too.
  process.on('SIGHUP', () => void runtime.reloadFromFile().catch(() => undefined));
  const lines = [...runtime.pools].map(
    ([name, pool]) => `  ${name.padEnd(20)} ${config.models[name]!.policy.padEnd(18)} ${pool.replicas.map((r) => `${r.id} (w${r.weight})`).join(', ')}`,
  );
  const releases = runtime.releases.rollouts().map((r) => {
    const s = r.snapshot;
    return `  ${s.release.padEnd(20)} stable ${s.stable}${s.canary ? `, canary ${s.canary} at ${s.canaryPercent}% (${s.status})` : ''}`;
  });
  process.stdout.write(
    [
      `Open-AutoGLM gateway at ${running.url}/v1`,
      `  ${'model'.padEnd(20)} ${'policy'.padEnd(18)} replicas`,
      ...lines,
      ...(releases.length ? ['', `  ${'release'.padEnd(20)} versions`, ...releases] : []),
      '',
      ...(index ? [`  index    ${index}`] : []),
      ...tenancyLines(running),
      logLine(flags.logLevel),
      '',
      'Try it:',
      tryIt(running, runtime.releases.rollouts()[0]?.snapshot.release ?? [...runtime.pools.keys()][0]!),
      '',
      `Config ${flags.config} is reloaded when it changes, on SIGHUP, and by POST /admin/reload.`,
      `Dashboard: ${running.url}/ui. Metrics: ${running.url}/metrics. Ctrl-C drains in-flight requests and exits.`,
      '',
    ].join('\n'),
  );
  handleShutdown(running);
}

/** Where the log goes and how much of it, so a person knows what the lines after the banner are. */
function logLine(level: string): string {
  const perRequest = ['info', 'debug', 'trace'].includes(level);
  return `  log      ${level} on stderr: ${perRequest ? 'one line per request (--log-level warn for failures only)' : 'failures only (--log-level info for one line per request)'}`;
}

/** A curl command that works as pasted: the first model, the key header when auth is on. */
function tryIt({ url, tenancy }: RunningServer, model: string): string {
  const auth = tenancy.authEnabled ? ` -H "authorization: Bearer $AUTOGLM_API_KEY"` : '';
  const example = JSON.stringify({ model, messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 64 });
  return `  curl ${url}/v1/chat/completions -H 'content-type: application/json'${auth} -d '${example}'`;
}

/** What the banner says of keys, the ledger, Redis and the cache; auth being off is said plainly. */
function tenancyLines({ tenancy }: RunningServer): string[] {
  const t = tenancy.settings;
  return [
    t.auth.enabled
      ? `  auth     API keys required (autoglm keys create --tenant NAME${t.database ? ` --database ${t.database}` : ''})`
      : '  auth     OFF: anyone who can reach this address can use it (use --auth, or auth.enabled in a config)',
    `  ledger   ${tenancy.databasePath}${t.redis ? `; limits and cache shared through ${t.redis}` : ''}`,
    `  cache    ${t.cache?.enabled ? `on for deterministic requests, ${t.cache.ttlSeconds}s, ${t.redis ? 'Redis' : 'memory'}` : 'off'}`,
  ];
}

type RunningLlama = Awaited<ReturnType<typeof serveModel>>;

/** The settings llama.cpp applied (auto resolved), so what was asked for can be checked at a glance. */
function settingsLine(e: RunningLlama['served']['description']['effective']): string {
  const kv = e.kvCacheKeyType === 'none' ? 'none' : `${e.kvCacheKeyType}/${e.kvCacheValueType}`;
  return `  settings gpu-layers ${e.gpuLayers}, flash-attention ${e.flashAttention}, kv-cache ${kv}, batch ${e.batchSize}, mmap ${e.mmap ? 'on' : 'off'}, mlock ${e.mlock ? 'on' : 'off'}, speculative ${e.speculative}`;
}

function printBanner(running: RunningLlama, index: string | undefined, logLevel: string, modelSet: ModelSetSettings | undefined): void {
  const { url, served, settings } = running;
  // The only model, or the default one of several, as loaded at start.
  const d = served.description;
  const size = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  const states = served.modelSet?.states();
  const modelLines =
    states && modelSet
      ? [
          ...states.map((s, i) => `  ${i ? '        ' : 'models  '} ${s.model.padEnd(24)} ${s.status.padEnd(9)} ${s.path ?? ''} (${size(s.bytes)})`),
          `  memory   ${states.length > 1 ? 'the others load on their first request; ' : ''}each unloads ${modelSet.keepAlive < 0 ? 'never' : `after ${modelSet.keepAlive}s idle`}; at most ${modelSet.maxLoadedModels} loaded${modelSet.maxLoadedBytes ? ` and ${formatBytes(modelSet.maxLoadedBytes)}` : ''} (GET /v1/models shows which)`,
        ]
      : [`  model    ${d.path} (${size(statSync(d.path).size)}${d.settings.quantize ? `, ${d.settings.quantize}` : ''})`];
  process.stdout.write(
    [
      states && states.length > 1 ? `Open-AutoGLM is serving ${states.length} models at ${url}/v1` : `Open-AutoGLM is serving ${d.name} at ${url}/v1`,
      ...modelLines,
      `  engine   llama.cpp on ${d.gpu === 'off' ? 'CPU' : d.gpu}; parallel ${d.settings.parallel}, context ${d.contextSize}/sequence, threads ${d.settings.threads}, queue ${d.settings.maxQueue}`,
      settingsLine(d.effective),
      ...d.warnings.map((w) => `  warning  ${w}`),
      `  limits   body ${formatBytes(settings.bodyLimitBytes)}, drain ${settings.drainSeconds}s`,
      ...(index ? [`  index    ${index}`] : []),
      d.settings.embeddingsOnly
        ? `  routes   /v1/embeddings (embeddings only: no chat context loaded) /v1/models /admin /health /ready /metrics /ui`
        : `  routes   /v1/chat/completions /v1/completions /v1/responses /v1/messages /v1/embeddings /v1/models /infer /v1/ws /admin /health /ready /metrics /ui`,
      ...tenancyLines(running),
      logLine(logLevel),
      '',
      `Try it:`,
      tryIt(running, d.name),
      '',
      `Dashboard: ${url}/ui. Ctrl-C drains in-flight requests and exits.`,
      '',
    ].join('\n'),
  );
}
