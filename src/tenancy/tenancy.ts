// Tenancy as a whole: the SQLite store and ledger, the limits (in memory or Redis), and who a request's key belongs to.
import type { Redis } from 'ioredis';
import { AutoglmError, type ChatModel } from '../core/index.js';
import { defaultDatabasePath, tenancySettingsSchema, type TenancySettings, type TenancySettingsInput } from '../config/index.js';
import { openDatabase, type Db } from './database.js';
import { allowsModel, RateLimits } from './rate-limits.js';
import { SqliteRolloutStore } from './rollout-store.js';
import { ANONYMOUS_TENANT, withTenancy } from './tenancy-model.js';
import { SCOPES, TenantStore, type Principal, type Scope } from './tenant-store.js';
import { UsageLedger } from './usage-ledger.js';
import { ResponseStore } from './response-store.js';

const bearer = /^Bearer\s+(\S+)\s*$/i;

export class Tenancy {
  readonly store: TenantStore;
  readonly ledger: UsageLedger;
  readonly limits: RateLimits;
  /** Responses kept for the Responses API's `store` and `previous_response_id`, per tenant. */
  readonly responses: ResponseStore;

  private constructor(
    readonly settings: TenancySettings,
    readonly databasePath: string,
    private readonly db: Db,
    readonly redis: Redis | undefined,
  ) {
    this.store = new TenantStore(db);
    this.ledger = new UsageLedger(db, databasePath);
    this.limits = new RateLimits({ redis, usedSince: (tenant, from) => this.ledger.tokensSince(tenant, from) });
    this.applyConfigTenants(settings);
    this.responses = new ResponseStore(db, { ttlMs: settings.responses.ttlDays * 86_400_000, maxStored: settings.responses.maxStored });
  }

  static async open(input: TenancySettingsInput = {}, env: NodeJS.ProcessEnv = process.env): Promise<Tenancy> {
    const settings = tenancySettingsSchema.parse(input);
    const path = settings.database ?? defaultDatabasePath(env);
    const db = openDatabase(path);
    let redis: Redis | undefined;
    if (settings.redis) {
      // Loaded only when configured: the client is a large share of a gateway's memory.
      const { Redis } = await import('ioredis');
      redis = new Redis(settings.redis, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true });
      // Outages show up as failed commands, which the limits and the cache survive; the connection retries by itself.
      redis.on('error', () => undefined);
      try {
        await redis.connect();
      } catch (err) {
        db.close();
        redis.disconnect();
        throw new Error(`cannot connect to Redis at ${settings.redis}: ${(err as Error).message}`);
      }
    }
    return new Tenancy(settings, path, db, redis);
  }

  get authEnabled(): boolean {
    return this.settings.auth.enabled;
  }

  /** The config file's tenants are written to the store; tenants made by the API or CLI are left as they are. */
  applyConfigTenants(settings: Pick<TenancySettings, 'tenants'>): void {
    for (const [id, tenant] of Object.entries(settings.tenants)) this.store.upsertTenant(id, tenant.limits, true);
  }

  /** Where rollout progress is kept: the same file as tenants and keys. */
  rolloutStore(): SqliteRolloutStore {
    return new SqliteRolloutStore(this.db);
  }

  /** Tenancy and the usage ledger around a model. */
  wrap(model: ChatModel): ChatModel {
    return withTenancy(model, { store: this.store, limits: this.limits, ledger: this.ledger });
  }

  /**
   * The caller of a request with this Authorization header, allowed `scope`: 401 without a valid key, 403 with a key
   * that lacks the scope. With auth off every caller is the anonymous tenant with every scope.
   */
  principal(authorization: string | undefined, scope: Scope): Principal {
    if (!this.settings.auth.enabled) return { tenant: ANONYMOUS_TENANT, keyId: null, scopes: SCOPES };
    const key = authorization ? bearer.exec(authorization)?.[1] : undefined;
    const principal = this.store.authenticate(key);
    if (!principal.scopes.includes(scope)) {
      throw new AutoglmError(403, 'permission_error', 'insufficient_scope', `This API key lacks the '${scope}' scope needed here.`);
    }
    return principal;
  }

  /** Which models this caller may use, by its tenant's and its key's lists (what /v1/models shows it). */
  modelFilter(principal: Principal): (model: string) => boolean {
    const lists = [this.store.tenant(principal.tenant)?.limits, principal.keyId ? this.store.keyLimits(principal.keyId) : undefined];
    return (model) => {
      const target = this.limits.aliasOf(model);
      return lists.every((limits) => allowsModel(limits, model, target));
    };
  }

  async close(): Promise<void> {
    this.responses.flush();
    this.ledger.close();
    this.db.close();
    await this.redis?.quit().catch(() => undefined);
  }
}
