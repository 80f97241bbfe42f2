// The gateway's YAML config: models, each a pool of replicas (llama, openai-compatible, sim) with a policy.
// One zod schema is the source of validation, defaults, types and the exported JSON Schema.
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { engineSettingsSchema, modelSetSettingsSchema, serverSettingsSchema } from './engine-settings.js';
import { simSettingsSchema } from './sim-settings.js';
import { tenancySettingsSchema } from './tenancy-config.js';
import { alertsSchema, releaseSchema, versionedName } from './release-config.js';
import { reasoningConfigSchema } from './reasoning-config.js';
import { promptsConfigSchema } from './prompts-config.js';
import { tracingConfigSchema } from './tracing-config.js';
import { configProblems } from './config-problems.js';

export const POLICIES = ['round_robin', 'weighted', 'least_outstanding', 'latency', 'prefix_aware'] as const;
export const UPSTREAM_PRESET_CHOICES = ['vllm', 'sglang', 'llamacpp-server', 'ollama', 'zhipu', 'openai', 'autoglm'] as const;

const common = {
  id: z.string().min(1).optional().describe('Name of the replica in metrics and errors'),
  weight: z.number().positive().default(1).describe('Share of traffic relative to the other replicas'),
};

const llamaReplica = z.strictObject({
  type: z.literal('llama'),
  ...common,
  ...engineSettingsSchema.omit({ alias: true }).shape,
});

const openaiReplica = z.strictObject({
  type: z.literal('openai'),
  ...common,
  preset: z.enum(UPSTREAM_PRESET_CHOICES).default('vllm').describe('Kind of server, for its default URL and extensions'),
  baseUrl: z.url().optional().describe('Base URL including the version path, e.g. http://10.0.0.5:8000/v1'),
  apiKeyEnv: z.string().optional().describe('Environment variable holding the API key'),
  upstreamModel: z.string().optional().describe('Model name the upstream expects (default: the model name here)'),
  connections: z.number().int().positive().default(256).describe('Keep-alive connections to this upstream'),
  connectTimeoutMs: z.number().int().positive().default(3000),
  firstTokenTimeoutMs: z.number().int().positive().default(60_000),
  totalTimeoutMs: z.number().int().positive().default(600_000),
  healthPath: z.string().default('/models').describe('Path under baseUrl answered by a healthy upstream'),
});

const simReplica = z.strictObject({
  type: z.literal('sim'),
  ...common,
  ...simSettingsSchema.omit({ model: true }).shape,
});

export const replicaConfigSchema = z.discriminatedUnion('type', [llamaReplica, openaiReplica, simReplica]);

/** Replicas found by DNS: each record of the name is an OpenAI-compatible replica, added and drained as records change. */
export const discoverConfigSchema = z.strictObject({
  ...openaiReplica.omit({ id: true, baseUrl: true }).shape,
  type: z.literal('openai').default('openai').describe('Kind of replica each record is (OpenAI-compatible servers)'),
  dns: z.string().min(1).describe('Name whose records are the replicas, e.g. a headless Service: vllm-headless.ns.svc.cluster.local'),
  record: z
    .enum(['auto', 'A', 'AAAA', 'SRV'])
    .default('auto')
    .describe('Which records: SRV (each carries its port), A/AAAA (every replica on `port`), or auto: SRV where the name has them, else A and AAAA'),
  port: z.number().int().min(1).max(65535).optional().describe('Port of every replica found by A/AAAA records'),
  basePath: z.string().startsWith('/').default('/v1').describe('Path of the OpenAI API on each replica (its base URL is http://<address>:<port><basePath>)'),
  intervalMs: z.number().int().min(100).default(5000).describe('How often the name is resolved again'),
  nameservers: z.array(z.string().min(1)).min(1).optional().describe("DNS servers to ask (host or host:port) instead of the system's"),
});

export const modelConfigSchema = z
  .strictObject({
    policy: z.enum(POLICIES).default('least_outstanding').describe('How a replica is chosen for each request'),
    retry: z
      .strictObject({
        attempts: z.number().int().min(1).max(10).default(3).describe('Attempts in all, on other replicas when possible'),
        baseDelayMs: z.number().min(0).default(20),
        maxDelayMs: z.number().min(0).default(1000),
      })
      .default({ attempts: 3, baseDelayMs: 20, maxDelayMs: 1000 }),
    breaker: z
      .strictObject({
        failureThreshold: z.number().int().min(1).default(3).describe('Consecutive failures that open the breaker'),
        openMs: z.number().int().min(1).default(5000).describe('How long an open breaker waits before a probe'),
      })
      .default({ failureThreshold: 3, openMs: 5000 }),
    health: z
      .strictObject({
        intervalMs: z.number().int().min(50).default(1000),
        timeoutMs: z.number().int().min(10).default(500),
      })
      .default({ intervalMs: 1000, timeoutMs: 500 }),
    replicas: z.array(replicaConfigSchema).default([]).describe('Replicas listed by hand (with or without `discover`)'),
    discover: discoverConfigSchema.optional().describe('Replicas found by DNS, added and drained as its records come and go'),
    prompt: z.string().min(1).optional().describe('Managed prompt (name or name@version under prompts) for requests to this model that name none'),
  })
  .superRefine((model, ctx) => {
    if (model.replicas.length === 0 && !model.discover)
      ctx.addIssue({ code: 'custom', path: ['replicas'], message: 'list at least one replica, or find them with discover' });
    const d = model.discover;
    if (d && d.record !== 'SRV' && d.port === undefined)
      ctx.addIssue({ code: 'custom', path: ['discover', 'port'], message: `A and AAAA records carry no port: set the replicas' port (or record: SRV)` });
  });

export const gatewayConfigSchema = z
  .strictObject({
    server: serverSettingsSchema.partial().default({}),
    ...tenancySettingsSchema.shape,
    models: z.record(z.string().min(1), modelConfigSchema).refine((m) => Object.keys(m).length > 0, 'at least one model is required'),
    embedded: z
      .strictObject(modelSetSettingsSchema.shape)
      .optional()
      .describe(
        'Embedded (llama) replicas load on their first request and unload after keepAlive seconds idle, within maxLoadedModels / maxLoadedBytes; without it they load at start and stay',
      ),
    releases: z
      .record(z.string().regex(/^[^@\s]+$/, 'a release name has no @'), releaseSchema)
      .default({})
      .describe('Versioned models: clients call NAME and get the stable version, or the canary by its share'),
    aliases: z
      .record(z.string().regex(/^[^\s:]+$/, 'an alias has no spaces or colons'), z.string().min(1))
      .default({})
      .describe('Other names for models or releases (alias: target), e.g. claude-sonnet-4: glm-4, for clients with hard-coded model names'),
    alerts: alertsSchema.default(alertsSchema.parse({})),
    reasoning: reasoningConfigSchema.default(reasoningConfigSchema.parse({})),
    prompts: promptsConfigSchema,
    tracing: tracingConfigSchema.describe('OpenTelemetry traces of every request, exported over OTLP/HTTP'),
  })
  .superRefine((config, ctx) => {
    for (const [alias, target] of Object.entries(config.aliases)) {
      if (Object.hasOwn(config.models, alias) || Object.hasOwn(config.releases, alias))
        ctx.addIssue({ code: 'custom', path: ['aliases', alias], message: `'${alias}' is already a model or release name` });
      else if (!Object.hasOwn(config.models, target) && !Object.hasOwn(config.releases, target))
        ctx.addIssue({ code: 'custom', path: ['aliases', alias], message: `no model or release '${target}' to alias` });
    }
    for (const [name, release] of Object.entries(config.releases)) {
      for (const [key, version] of [
        ['stable', release.stable],
        ['canary', release.canary?.version],
      ] as const) {
        if (version !== undefined && !config.models[versionedName(name, version)]) {
          ctx.addIssue({
            code: 'custom',
            path: ['releases', name, ...(key === 'stable' ? ['stable'] : ['canary', 'version'])],
            message: `no model '${versionedName(name, version)}' under models`,
          });
        }
      }
      if (config.models[name])
        ctx.addIssue({ code: 'custom', path: ['releases', name], message: `'${name}' is both a release and a model; name the model ${name}@VERSION` });
    }
  });

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type ReplicaConfig = z.infer<typeof replicaConfigSchema>;

/** A config that cannot be used; the message names the file, line, column and key of the first problem. */
export class ConfigError extends Error {
  override name = 'ConfigError';

  /** Every problem found, one line each (`autoglm config check` lists them all). */
  readonly problems: string[];

  constructor(message: string, problems?: string[]) {
    super(message);
    this.problems = problems ?? [message];
  }
}

/** JSON Schema for editors (yaml-language-server, VS Code), generated from the same zod schema. */
export function gatewayJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(gatewayConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

export function parseGatewayConfig(text: string, file = 'config'): GatewayConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const { line, col } = lineCounter.linePos(syntax.pos[0]);
    throw new ConfigError(`${file}:${line}:${col}: invalid YAML: ${syntax.message.split('\n')[0]}`);
  }
  const result = gatewayConfigSchema.safeParse(doc.toJS() ?? {});
  if (result.success) return result.data;
  const problems = configProblems(result.error.issues, gatewayConfigSchema, { doc, lineCounter, file });
  throw new ConfigError(problems.length > 1 ? `${problems[0]} (and ${problems.length - 1} more)` : problems[0]!, problems);
}

export async function loadGatewayConfig(path: string): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ConfigError(`cannot read config file ${path}`);
  }
  return parseGatewayConfig(text, path);
}
