// Tenants and their API keys, kept in SQLite: created by the admin API, the CLI, or the config file's tenants.
import type { Statement } from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import { AutoglmError, invalidRequest } from '../core/index.js';
import { limitsSchema, type Limits } from '../config/index.js';
import { keyIdOf, keyMatches, newKey } from './api-keys.js';
import type { Db } from './database.js';

export const SCOPES = ['inference', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Tenant {
  id: string;
  limits: Limits;
  fromConfig: boolean;
  createdAt: string;
}

export interface ApiKeyInfo {
  id: string;
  tenant: string;
  name: string | null;
  scopes: Scope[];
  limits: Limits;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** Who is calling, once their key checks out. */
export interface Principal {
  tenant: string;
  keyId: string | null;
  scopes: readonly Scope[];
}

export interface CreateKeyOptions {
  tenant: string;
  scopes?: Scope[];
  name?: string;
  limits?: Limits;
  expiresAt?: Date;
}

interface CachedKey {
  row: KeyRow;
  limits: Limits;
  scopes: Scope[];
}
interface KeyRow {
  id: string;
  tenant: string;
  hash: string;
  name: string | null;
  scopes: string;
  limits: string;
  created_ms: number;
  expires_ms: number | null;
  revoked_ms: number | null;
}
interface TenantRow {
  id: string;
  limits: string;
  from_config: number;
  created_ms: number;
}

/** Cached for a tenant that does not exist. */
const NO_TENANT: Tenant = Object.freeze({ id: '', limits: {}, fromConfig: false, createdAt: '' });
const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());
const unauthorized = (message: string) => new AutoglmError(401, 'authentication_error', 'invalid_api_key', message);

export class TenantStore {
  // Keys and tenants are read on every request: a short-lived copy spares SQLite, and revocation still lands within
  // a second in other processes sharing the file (at once in this one, which clears the copy).
  private readonly keyCache = new LRUCache<string, CachedKey>({ max: 10_000, ttl: 1000 });
  // NO_TENANT remembers a tenant that does not exist (the anonymous one usually), so it is not looked up per request.
  private readonly tenantCache = new LRUCache<string, Tenant>({ max: 10_000, ttl: 1000 });
  private readonly selectTenant: Statement<[string], TenantRow>;
  private readonly selectKey: Statement<[string], KeyRow>;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.selectTenant = db.prepare('SELECT * FROM tenants WHERE id = ?');
    this.selectKey = db.prepare('SELECT * FROM api_keys WHERE id = ?');
  }

  upsertTenant(id: string, limits: Limits, fromConfig = false): Tenant {
    const parsed = limitsSchema.parse(limits);
    this.db
      .prepare(`INSERT INTO tenants (id, limits, from_config, created_ms) VALUES (?, ?, ?, ?)
      ON CONFLICT(id) DO UPDATE SET limits = excluded.limits, from_config = excluded.from_config`)
      .run(id, JSON.stringify(parsed), fromConfig ? 1 : 0, this.now());
    this.tenantCache.delete(id);
    return this.tenant(id)!;
  }

  /** Creates the tenant with no limits if it does not exist yet. */
  ensureTenant(id: string): Tenant {
    this.db.prepare('INSERT OR IGNORE INTO tenants (id, limits, created_ms) VALUES (?, ?, ?)').run(id, '{}', this.now());
    this.tenantCache.delete(id);
    return this.tenant(id)!;
  }

  tenant(id: string): Tenant | undefined {
    const cached = this.tenantCache.get(id);
    if (cached !== undefined) return cached === NO_TENANT ? undefined : cached;
    const row = this.selectTenant.get(id);
    if (!row) {
      this.tenantCache.set(id, NO_TENANT);
      return undefined;
    }
    const tenant = { id: row.id, limits: JSON.parse(row.limits) as Limits, fromConfig: row.from_config === 1, createdAt: iso(row.created_ms)! };
    this.tenantCache.set(id, tenant);
    return tenant;
  }

  tenants(): Tenant[] {
    return (this.db.prepare('SELECT id FROM tenants ORDER BY id').all() as { id: string }[]).map((r) => this.tenant(r.id)!);
  }

  createKey(options: CreateKeyOptions): { key: string; info: ApiKeyInfo } {
    if (!this.tenant(options.tenant))
      throw new AutoglmError(404, 'not_found_error', 'tenant_not_found', `No tenant '${options.tenant}'. Create it first.`, 'tenant');
    const scopes = options.scopes?.length ? [...new Set(options.scopes)] : ['inference' as const];
    const limits = limitsSchema.parse(options.limits ?? {});
    const created = newKey();
    this.db
      .prepare('INSERT INTO api_keys (id, tenant, hash, name, scopes, limits, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(
        created.id,
        options.tenant,
        created.hash,
        options.name ?? null,
        scopes.join(','),
        JSON.stringify(limits),
        this.now(),
        options.expiresAt?.getTime() ?? null,
      );
    return { key: created.key, info: this.keyInfo(created.id)! };
  }

  keyInfo(id: string): ApiKeyInfo | undefined {
    const row = this.selectKey.get(id);
    return row && infoOf(row);
  }

  keys(tenant?: string): ApiKeyInfo[] {
    const rows = (
      tenant
        ? this.db.prepare('SELECT * FROM api_keys WHERE tenant = ? ORDER BY created_ms').all(tenant)
        : this.db.prepare('SELECT * FROM api_keys ORDER BY created_ms').all()
    ) as KeyRow[];
    return rows.map(infoOf);
  }

  revokeKey(id: string): ApiKeyInfo {
    const changed = this.db.prepare('UPDATE api_keys SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL').run(this.now(), id).changes;
    this.keyCache.delete(id);
    const info = this.keyInfo(id);
    if (!info) throw new AutoglmError(404, 'not_found_error', 'key_not_found', `No API key with id '${id}'.`, 'id');
    if (!changed && !info.revokedAt) throw invalidRequest(`Key '${id}' could not be revoked.`);
    return info;
  }

  /** A key as read on every request: its row, limits and scopes parsed once per cached copy, not per call. */
  private key(id: string): CachedKey | undefined {
    let cached = this.keyCache.get(id);
    if (!cached) {
      const row = this.selectKey.get(id);
      if (!row) return undefined;
      cached = { row, limits: JSON.parse(row.limits) as Limits, scopes: row.scopes.split(',') as Scope[] };
      this.keyCache.set(id, cached);
    }
    return cached;
  }

  /** A key's own limits, from the copy `authenticate` just read. */
  keyLimits(id: string): Limits | undefined {
    return this.key(id)?.limits;
  }

  /** The caller behind a presented key; 401 with a reason that never echoes the key. */
  authenticate(key: string | undefined): Principal {
    if (!key) throw unauthorized('Missing API key. Send it as "Authorization: Bearer <key>".');
    const id = keyIdOf(key);
    if (!id) throw unauthorized('Malformed API key.');
    const cached = this.key(id);
    if (!cached || !keyMatches(key, cached.row.hash)) throw unauthorized('Incorrect API key.');
    const { row, scopes } = cached;
    if (row.revoked_ms != null) throw unauthorized('This API key has been revoked.');
    if (row.expires_ms != null && row.expires_ms <= this.now()) throw unauthorized('This API key has expired.');
    return { tenant: row.tenant, keyId: row.id, scopes };
  }
}

function infoOf(row: KeyRow): ApiKeyInfo {
  return {
    id: row.id,
    tenant: row.tenant,
    name: row.name,
    scopes: row.scopes.split(',') as Scope[],
    limits: JSON.parse(row.limits) as Limits,
    createdAt: iso(row.created_ms)!,
    expiresAt: iso(row.expires_ms),
    revokedAt: iso(row.revoked_ms),
  };
}
