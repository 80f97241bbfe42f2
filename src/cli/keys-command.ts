// `autoglm keys`: create, list and revoke API keys in the tenant store (the SQLite file the server reads).
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { defaultDatabasePath, limitsSchema, loadGatewayConfig, tenantNameSchema, type Limits } from '../config/index.js';
import { AutoglmError } from '../core/index.js';
import { openDatabase, SCOPES, TenantStore, type Scope } from '../tenancy/index.js';
import { fail } from './errors.js';
import { positiveNumber } from './number-options.js';

interface StoreFlags {
  database?: string;
  config?: string;
}

/**
 * The store the server uses: --database, else the config file's database, else the default file. Only `create` may
 * make a new one: listing or revoking in a file that is not there would leave an empty database behind a typo.
 */
async function openStore(flags: StoreFlags, mayCreate: boolean): Promise<{ store: TenantStore; path: string; close(): void }> {
  const fromConfig = flags.config ? (await loadGatewayConfig(flags.config)).database : undefined;
  const path = flags.database ?? fromConfig ?? defaultDatabasePath();
  if (!mayCreate && !existsSync(path)) throw new Error(`no database at ${path}; create a key first with \`autoglm keys create\``);
  const db = openDatabase(path);
  return { store: new TenantStore(db), path, close: () => db.close() };
}

function withStore(action: (store: TenantStore, path: string) => void, mayCreate = false) {
  return async (flags: StoreFlags) => {
    try {
      const { store, path, close } = await openStore(flags, mayCreate);
      try {
        action(store, path);
      } finally {
        close();
      }
    } catch (err) {
      fail(err instanceof AutoglmError ? new Error(err.message) : err);
    }
  };
}

/** `requestsPerMinute=60 models=a,b` -> limits, checked by the same schema the config and the admin API use. */
function limitsOf(settings: string[]): Limits {
  const raw: Record<string, unknown> = {};
  for (const setting of settings) {
    const [name, value] = setting.split('=', 2) as [string, string | undefined];
    if (value === undefined) fail(new Error(`--limit ${setting}: write it as name=value`));
    raw[name] = name === 'models' ? value.split(',') : Number(value);
  }
  const parsed = limitsSchema.safeParse(raw);
  if (!parsed.success) fail(new Error(`--limit: ${parsed.error.issues[0]!.path.join('.') || 'limits'}: ${parsed.error.issues[0]!.message}`));
  return parsed.data;
}

/** The UTC day of an ISO time: enough to tell keys apart, short enough for a table. */
const day = (iso: string) => iso.slice(0, 10);

const storeOptions = (cmd: Command) =>
  cmd
    .option('--database <file>', 'SQLite file of tenants and keys (default: $AUTOGLM_DATA_DIR/autoglm.db)')
    .option('--config <file>', 'use the database named in this gateway config');

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('manage API keys (stored hashed; a key is shown once, when created)');

  storeOptions(keys.command('create').description('create a key for a tenant (the tenant is created if new)'))
    .requiredOption('--tenant <name>', 'tenant the key belongs to')
    .option('--scope <scope...>', `scopes: ${SCOPES.join(', ')}`, ['inference'])
    .option('--name <text>', 'a label to recognise the key by')
    .option('--expires-in-days <n>', 'the key stops working after this many days', positiveNumber)
    .option('--limit <setting...>', "limits of this key on top of its tenant's, e.g. requestsPerMinute=60 tokensPerDay=100000 models=a,b")
    .action(async (flags: StoreFlags & { tenant: string; scope: string[]; name?: string; expiresInDays?: number; limit?: string[] }) => {
      const bad = flags.scope.find((s) => !(SCOPES as readonly string[]).includes(s));
      if (bad) fail(new Error(`unknown scope '${bad}'; use ${SCOPES.join(' or ')}`));
      const name = tenantNameSchema.safeParse(flags.tenant);
      if (!name.success) fail(new Error(`--tenant '${flags.tenant}': ${name.error.issues[0]!.message}`));
      const limits = limitsOf(flags.limit ?? []);
      await withStore((store, path) => {
        store.ensureTenant(flags.tenant);
        const expiresAt = flags.expiresInDays ? new Date(Date.now() + flags.expiresInDays * 86_400_000) : undefined;
        const { key, info } = store.createKey({ tenant: flags.tenant, scopes: flags.scope as Scope[], name: flags.name, expiresAt, limits });
        process.stdout.write(`${key}\n`);
        const own = Object.entries(info.limits)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(' ');
        process.stderr.write(
          `created key ${info.id} for tenant ${info.tenant} (scopes: ${info.scopes.join(', ')}${info.expiresAt ? `, expires ${info.expiresAt}` : ''}${own ? `, limits ${own}` : ''}) in ${path}\nThis is the only time the key is shown; it is stored hashed.\n`,
        );
      }, true)(flags);
    });

  storeOptions(keys.command('list').description('list keys (never the keys themselves)'))
    .option('--tenant <name>', 'only this tenant')
    .action(async (flags: StoreFlags & { tenant?: string }) => {
      await withStore((store, path) => {
        const rows = store.keys(flags.tenant).map((k) => ({
          id: k.id,
          tenant: k.tenant,
          name: k.name ?? '-',
          scopes: k.scopes.join(','),
          status: k.revokedAt ? 'revoked' : k.expiresAt && Date.parse(k.expiresAt) <= Date.now() ? 'expired' : 'active',
          created: day(k.createdAt),
          expires: k.expiresAt ? day(k.expiresAt) : 'never',
          limits:
            Object.entries(k.limits)
              .map(([name, v]) => `${name}=${Array.isArray(v) ? v.join(',') : String(v)}`)
              .join(' ') || '-',
        }));
        if (rows.length === 0) return void process.stdout.write(`no keys${flags.tenant ? ` for tenant ${flags.tenant}` : ''} in ${path}\n`);
        const columns = ['id', 'tenant', 'name', 'scopes', 'status', 'created', 'expires', 'limits'] as const;
        const width = Object.fromEntries(columns.map((c) => [c, Math.max(c.length, ...rows.map((r) => r[c].length)) + 2]));
        process.stdout.write(
          `${columns
            .map((c) => c.padEnd(width[c]!))
            .join('')
            .trimEnd()}\n`,
        );
        for (const r of rows)
          process.stdout.write(
            `${columns
              .map((c) => r[c].padEnd(width[c]!))
              .join('')
              .trimEnd()}\n`,
          );
      })(flags);
    });

  storeOptions(keys.command('revoke').description('revoke a key by its id').argument('<id>')).action(async (id: string, flags: StoreFlags) => {
    await withStore((store) => {
      const info = store.revokeKey(id);
      process.stdout.write(`revoked key ${info.id} of tenant ${info.tenant}\n`);
    })(flags);
  });
}
