// Tenancy settings: auth, per-tenant limits, the SQLite store and ledger, the response cache and shared Redis state.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/** Limits of a tenant or of one key; every one is optional, and a missing one does not limit. */
export const limitsSchema = z.strictObject({
  requestsPerMinute: z.number().int().positive().optional().describe('Requests started per minute'),
  tokensPerMinute: z.number().int().positive().optional().describe('Prompt + completion tokens per minute'),
  maxConcurrent: z.number().int().positive().optional().describe('Requests running at the same time'),
  tokensPerDay: z.number().int().positive().optional().describe('Token budget per UTC day'),
  tokensPerMonth: z.number().int().positive().optional().describe('Token budget per UTC month'),
  models: z.array(z.string().min(1)).optional().describe('Models this tenant may use (default: all)'),
  priority: z.number().int().min(-10).max(10).optional().describe('Queue priority in the engines: higher goes first'),
});
export type Limits = z.infer<typeof limitsSchema>;

export const tenantConfigSchema = z.strictObject({
  limits: limitsSchema.default({}),
});

/** Where the tenant store and usage ledger live unless the config names a file. */
export function defaultDatabasePath(env: NodeJS.ProcessEnv = process.env): string {
  const dataDir = env.AUTOGLM_DATA_DIR ?? join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'autoglm');
  return resolve(dataDir, 'autoglm.db');
}

/** A tenant's name, as the config, the admin API and `keys create` accept it. */
export const tenantNameSchema = z.string().regex(/^[\w.-]{1,64}$/, 'tenant names are letters, digits, _ . - (at most 64)');

export const tenancySettingsSchema = z.strictObject({
  auth: z
    .strictObject({
      enabled: z.boolean().default(false).describe('Require an API key (Authorization: Bearer ...) on every API call'),
    })
    .default({ enabled: false }),
  database: z.string().optional().describe('SQLite file for tenants, keys and the usage ledger (default: $AUTOGLM_DATA_DIR/autoglm.db)'),
  redis: z.string().optional().describe('redis:// URL: share limits, concurrency and the cache across gateway processes'),
  tenants: z.record(tenantNameSchema, tenantConfigSchema).default({}).describe('Tenants and their limits, applied to the store at start and on reload'),
  cache: z
    .strictObject({
      enabled: z.boolean().default(true),
      ttlSeconds: z.number().int().positive().default(600),
      maxEntries: z.number().int().positive().default(10_000),
      maxBytes: z
        .number()
        .int()
        .positive()
        .default(64 * 1024 * 1024)
        .describe('Memory store only'),
    })
    .optional()
    .describe('Exact-match response cache for deterministic requests (temperature 0 or a seed); off unless present'),
  responses: z
    .strictObject({
      ttlDays: z.number().positive().default(30).describe('Days a stored response (the Responses API with store: true) is kept'),
      maxStored: z.number().int().positive().default(100_000).describe('Most stored responses kept in all; the oldest are deleted first'),
    })
    .default({ ttlDays: 30, maxStored: 100_000 })
    .describe('Stored responses of POST /v1/responses, readable by GET /v1/responses/{id} and continued by previous_response_id'),
});
export type TenancySettings = z.infer<typeof tenancySettingsSchema>;
export type TenancySettingsInput = z.input<typeof tenancySettingsSchema>;
