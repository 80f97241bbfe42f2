// The SQLite file that holds tenants, keys, rollout progress and the usage ledger: WAL, so readers never block the writer.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tenants (
  id TEXT PRIMARY KEY,
  limits TEXT NOT NULL DEFAULT '{}',
  from_config INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL REFERENCES tenants(id),
  hash TEXT NOT NULL,
  name TEXT,
  scopes TEXT NOT NULL,
  limits TEXT NOT NULL DEFAULT '{}',
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER,
  revoked_ms INTEGER
);
CREATE TABLE IF NOT EXISTS usage (
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  time_ms INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  tenant TEXT NOT NULL,
  key_id TEXT,
  model TEXT NOT NULL,
  replica TEXT,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL,
  status INTEGER NOT NULL,
  latency_ms REAL NOT NULL,
  cache_hit INTEGER NOT NULL DEFAULT 0,
  answer_key TEXT
);
CREATE TABLE IF NOT EXISTS rollouts (
  release TEXT PRIMARY KEY,
  state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_tenant_time ON usage(tenant, time_ms);
CREATE INDEX IF NOT EXISTS usage_time ON usage(time_ms);
`;

export function openDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL: a commit is in the OS once the call returns, so a killed process loses nothing; only a power cut could.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  migrate(db);
  return db;
}

/**
 * Files made before the ledger had record ids get the column (and its unique index) added; files made before rows had
 * answer keys, that column. The ledger is also where feedback finds a request of its tenant, by request id or by its
 * answer's key (see UsageLedger.answered), hence the two lookup indexes, ending in the time the lookup bounds and
 * orders by. In one immediate transaction: two processes opening one old file at once would both add a column.
 */
function migrate(db: Db): void {
  db.transaction(() => {
    const columns = db.prepare("SELECT name FROM pragma_table_info('usage')").all() as { name: string }[];
    if (!columns.some((c) => c.name === 'uid')) {
      db.exec("ALTER TABLE usage ADD COLUMN uid TEXT; UPDATE usage SET uid = 'legacy-' || id; CREATE UNIQUE INDEX usage_uid ON usage(uid);");
    }
    if (!columns.some((c) => c.name === 'answer_key')) db.exec('ALTER TABLE usage ADD COLUMN answer_key TEXT');
    db.exec(`CREATE INDEX IF NOT EXISTS usage_tenant_request_time ON usage(tenant, request_id, time_ms);
      CREATE INDEX IF NOT EXISTS usage_tenant_answer_time ON usage(tenant, answer_key, time_ms) WHERE answer_key IS NOT NULL;`);
  }).immediate();
}
