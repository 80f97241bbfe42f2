// Managed prompts kept in the tenancy's SQLite file: each tenant's own prompts and their versions, which prompt
// version served each request, and the feedback callers sent on their requests.
import type { Statement } from 'better-sqlite3';
import { openDatabase, PendingRows } from '../tenancy/index.js';
import type { PromptDemo, PromptTemplate } from './template.js';

type Db = ReturnType<typeof openDatabase>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS prompts (
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  template TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, name, version)
);
CREATE TABLE IF NOT EXISTS prompt_served (
  request_id TEXT NOT NULL,
  tenant TEXT NOT NULL,
  prompt TEXT,
  version INTEGER,
  scope TEXT,
  time_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, request_id)
);
CREATE TABLE IF NOT EXISTS feedback (
  request_id TEXT NOT NULL,
  tenant TEXT NOT NULL,
  score REAL NOT NULL,
  label TEXT,
  prompt TEXT,
  version INTEGER,
  scope TEXT,
  time_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, request_id)
);
CREATE INDEX IF NOT EXISTS prompt_served_prompt_time ON prompt_served(scope, prompt, time_ms);
-- The sweep's: without it, every sweep reads the whole table, a week of every request (50-100 ms a minute at 250k rows).
CREATE INDEX IF NOT EXISTS prompt_served_time ON prompt_served(time_ms);
CREATE INDEX IF NOT EXISTS feedback_prompt_time ON feedback(scope, prompt, time_ms);
`;
/** What a file made before answers had keys gains: the key of each answer's id, so feedback may name the answer. */
const ANSWER_KEY_COLUMN = 'ALTER TABLE prompt_served ADD COLUMN answer_key TEXT';
const ANSWER_KEY_INDEX = 'CREATE INDEX IF NOT EXISTS prompt_served_answer ON prompt_served(tenant, answer_key)';

/** Feedback may come this long after a request: a week. */
const SERVED_TTL_MS = 7 * 86_400_000;
const SWEEP_EVERY_MS = 60_000;

/** What served one request: the prompt (and which scope it came from: `global` for the config's, else the tenant). */
export interface ServedRecord {
  requestId: string;
  tenant: string;
  /** What the answer's id is made of (see CallContext.answerKey). */
  answerKey?: string;
  prompt?: string;
  version?: number;
  scope?: string;
}

export interface FeedbackRecord {
  requestId: string;
  tenant: string;
  score: number;
  label?: string;
  prompt?: string;
  version?: number;
  scope?: string;
  timeMs: number;
}

/** One version's share of traffic and mean feedback in one time bucket. */
export interface ArmPoint {
  version: number;
  bucketMs: number;
  served: number;
  feedback: number;
  meanScore: number | null;
}

interface TemplateRow {
  name: string;
  version: number;
  template: string;
  created_ms: number;
}

export class PromptStore {
  private readonly db: Db;
  private readonly insertServed: Statement;
  private readonly pending = new PendingRows<ServedRecord & { timeMs: number }>((rows) => this.write(rows));
  private closed = false;
  private lastSweep = 0;

  /**
   * Its own connection to the tenancy's file (WAL lets readers and writers of both go on at once). What served a
   * request is kept `servedTtlMs` (feedback on older requests is a 404); feedback itself is kept.
   */
  constructor(
    databasePath: string,
    private readonly servedTtlMs = SERVED_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.db = openDatabase(databasePath);
    this.db.exec(SCHEMA);
    const columns = this.db.prepare('PRAGMA table_info(prompt_served)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'answer_key')) this.db.exec(ANSWER_KEY_COLUMN);
    this.db.exec(ANSWER_KEY_INDEX);
    this.insertServed = this.db.prepare(
      'INSERT OR REPLACE INTO prompt_served (request_id, tenant, answer_key, prompt, version, scope, time_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    // Swept at open too, not only beside a write: a server whose requests no prompt serves writes nothing here, and
    // files from before such requests were left out still hold a row for each of them.
    this.sweep(this.now());
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    this.db.prepare('DELETE FROM prompt_served WHERE time_ms < ?').run(now - this.servedTtlMs);
  }

  versions(tenant: string, name: string): (PromptTemplate & { createdAt: string })[] {
    const rows = this.db
      .prepare('SELECT name, version, template, created_ms FROM prompts WHERE tenant = ? AND name = ? ORDER BY version')
      .all(tenant, name) as TemplateRow[];
    return rows.map(templateOfRow);
  }

  /** Every prompt of a tenant, latest version of each. */
  list(tenant: string): (PromptTemplate & { createdAt: string; versions: number })[] {
    const rows = this.db
      .prepare(
        `SELECT p.name, p.version, p.template, p.created_ms, c.n FROM prompts p
         JOIN (SELECT name, MAX(version) AS v, COUNT(*) AS n FROM prompts WHERE tenant = ? GROUP BY name) c ON c.name = p.name AND c.v = p.version
         WHERE p.tenant = ? ORDER BY p.name`,
      )
      .all(tenant, tenant) as (TemplateRow & { n: number })[];
    return rows.map((r) => ({ ...templateOfRow(r), versions: r.n }));
  }

  /** Adds the next version of a prompt (version 1 when it is new); returns it. */
  addVersion(tenant: string, template: Omit<PromptTemplate, 'version'>): PromptTemplate & { createdAt: string } {
    const add = this.db.transaction(() => {
      const { v } = this.db.prepare('SELECT MAX(version) AS v FROM prompts WHERE tenant = ? AND name = ?').get(tenant, template.name) as { v: number | null };
      const version = (v ?? 0) + 1;
      const now = Date.now();
      const { name: _name, ...body } = template;
      this.db
        .prepare('INSERT INTO prompts (tenant, name, version, template, created_ms) VALUES (?, ?, ?, ?, ?)')
        .run(tenant, template.name, version, JSON.stringify(body), now);
      return { ...template, version, createdAt: new Date(now).toISOString() };
    });
    return add();
  }

  /** Deletes a prompt (every version, or one); returns how many versions went. */
  remove(tenant: string, name: string, version?: number): number {
    return version === undefined
      ? this.db.prepare('DELETE FROM prompts WHERE tenant = ? AND name = ?').run(tenant, name).changes
      : this.db.prepare('DELETE FROM prompts WHERE tenant = ? AND name = ? AND version = ?').run(tenant, name, version).changes;
  }

  /** Remembers what served a request, stamped now; written with the others pending (see PendingRows). */
  served(record: ServedRecord): void {
    this.pending.add({ ...record, timeMs: this.now() });
  }

  flush(): void {
    this.pending.flush();
  }

  /** The oldest moment a request may have been answered and still take feedback. */
  feedbackSince(): number {
    return this.now() - this.servedTtlMs;
  }

  private write(rows: (ServedRecord & { timeMs: number })[]): void {
    // A request that ends while the server shuts down has nowhere left to be written.
    if (this.closed) return;
    const now = this.now();
    this.db.transaction(() => {
      for (const r of rows) this.insertServed.run(r.requestId, r.tenant, r.answerKey ?? null, r.prompt ?? null, r.version ?? null, r.scope ?? null, r.timeMs);
      // Which prompt served a request matters while its feedback may come: older rows are swept, now and then.
      if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    })();
  }

  /**
   * What served a request of this tenant, found by its request id or by its answer's key; undefined when it has none
   * by that id.
   */
  servedBy(tenant: string, id: string, by: 'request' | 'answer' = 'request'): ServedRecord | undefined {
    this.flush();
    const column = by === 'request' ? 'request_id' : 'answer_key';
    // Bounded here too, not only by the sweeps: they run at open and beside writes, which a server may rarely make.
    const row = this.db
      .prepare(`SELECT request_id, answer_key, prompt, version, scope FROM prompt_served WHERE tenant = ? AND ${column} = ? AND time_ms >= ?`)
      .get(tenant, id, this.feedbackSince()) as
      | { request_id: string; answer_key: string | null; prompt: string | null; version: number | null; scope: string | null }
      | undefined;
    if (!row) return undefined;
    return {
      requestId: row.request_id,
      tenant,
      ...(row.answer_key !== null && { answerKey: row.answer_key }),
      ...(row.prompt !== null && { prompt: row.prompt, version: row.version ?? undefined, scope: row.scope ?? undefined }),
    };
  }

  /** Records (or replaces) the feedback on a request; returns the score it replaced, if any. */
  addFeedback(f: FeedbackRecord): number | undefined {
    const before = this.db.prepare('SELECT score FROM feedback WHERE tenant = ? AND request_id = ?').get(f.tenant, f.requestId) as
      | { score: number }
      | undefined;
    this.db
      .prepare('INSERT OR REPLACE INTO feedback (request_id, tenant, score, label, prompt, version, scope, time_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(f.requestId, f.tenant, f.score, f.label ?? null, f.prompt ?? null, f.version ?? null, f.scope ?? null, f.timeMs);
    return before?.score;
  }

  /** Every version's feedback so far (sum of scores and count), for a bandit starting up. */
  feedbackTotals(scope: string, prompt: string): Map<number, { rewards: number; trials: number }> {
    const rows = this.db
      .prepare('SELECT version, SUM(score) AS rewards, COUNT(*) AS trials FROM feedback WHERE scope = ? AND prompt = ? GROUP BY version')
      .all(scope, prompt) as { version: number; rewards: number; trials: number }[];
    return new Map(rows.map((r) => [r.version, { rewards: r.rewards, trials: r.trials }]));
  }

  /** Each version's traffic and mean feedback per time bucket: what the dashboard draws. */
  arms(scope: string, prompt: string, bucketMs: number, sinceMs = 0): ArmPoint[] {
    this.flush();
    const served = this.db
      .prepare(
        'SELECT version, CAST(time_ms / ? AS INTEGER) * ? AS bucket, COUNT(*) AS n FROM prompt_served WHERE scope = ? AND prompt = ? AND time_ms >= ? GROUP BY version, bucket',
      )
      .all(bucketMs, bucketMs, scope, prompt, sinceMs) as { version: number; bucket: number; n: number }[];
    const scored = this.db
      .prepare(
        'SELECT version, CAST(time_ms / ? AS INTEGER) * ? AS bucket, COUNT(*) AS n, AVG(score) AS mean FROM feedback WHERE scope = ? AND prompt = ? AND time_ms >= ? GROUP BY version, bucket',
      )
      .all(bucketMs, bucketMs, scope, prompt, sinceMs) as { version: number; bucket: number; n: number; mean: number }[];
    const points = new Map<string, ArmPoint>();
    const at = (version: number, bucket: number) => {
      const key = `${version}:${bucket}`;
      let p = points.get(key);
      if (!p) points.set(key, (p = { version, bucketMs: bucket, served: 0, feedback: 0, meanScore: null }));
      return p;
    };
    for (const r of served) at(r.version, r.bucket).served = r.n;
    for (const r of scored) Object.assign(at(r.version, r.bucket), { feedback: r.n, meanScore: r.mean });
    return [...points.values()].sort((a, b) => a.bucketMs - b.bucketMs || a.version - b.version);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}

function templateOfRow(r: TemplateRow): PromptTemplate & { createdAt: string } {
  const body = JSON.parse(r.template) as { instructions: string; demos: PromptDemo[]; format?: string; strategy?: string };
  return { name: r.name, version: r.version, ...body, createdAt: new Date(r.created_ms).toISOString() };
}
