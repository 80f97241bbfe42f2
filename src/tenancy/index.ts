// Door of the tenancy room: keys, tenants, limits and the usage ledger.
export { Tenancy } from './tenancy.js';
export { TenantStore, SCOPES, type Scope, type Principal, type Tenant, type ApiKeyInfo } from './tenant-store.js';
export { UsageLedger, parseGroupBy, GROUP_BY, type UsageRecord, type UsageQuery } from './usage-ledger.js';
export { RateLimits, LimitRefusal, resetText, type Admission, type LimitSubject } from './rate-limits.js';
export { withTenancy, ANONYMOUS_TENANT } from './tenancy-model.js';
export { openDatabase } from './database.js';
export { PendingRows } from './pending-rows.js';
export { redactKey } from './api-keys.js';
export { withEmbeddingTenancy } from './embedding-tenancy.js';
export { ResponseStore, type StoredResponse, type ResponseStoreOptions } from './response-store.js';
