// The usage ledger: one row per request. Rows are written in batches, and a caller's response waits for its batch,
// so a response a client received is on disk even if the process is killed the next moment.
import type { Statement } from 'better-sqlite3';
import { invalidRequest } from '../core/index.js';
import type { Db } from './database.js';

export interface UsageRecord {
  timeMs: number;
  requestId: string;
  tenant: string;
  keyId?: string;
  model: string;
  replica?: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  /** HTTP status the caller saw (499: the caller went away first). */
  status: number;
  latencyMs: number;
  cacheHit: boolean;
}

export const GROUP_BY = ['tenant', 'key', 'model', 'replica', 'status', 'day', 'hour'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface UsageQuery {
  tenant?: string;
  fromMs?: number;
  toMs?: number;
  groupBy?: GroupBy[];
}

export interface UsageGroup {
  [key: string]: string | number | null;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  total_tokens: number;
  errors: number;
  cache_hits: number;
  avg_latency_ms: number;
}

const GROUP_COLUMNS: Record<GroupBy, string> = {
  tenant: 'tenant',
  key: 'key_id',
  model: 'model',
  replica: 'replica',
  status: 'status',
  day: "strftime('%Y-%m-%d', time_ms / 1000, 'unixepoch')",
  hour: "strftime('%Y-%m-%dT%H:00', time_ms / 1000, 'unixepoch')",
};

export class UsageLedger {
  private pending: { record: UsageRecord; done: () => void }[] = [];
  private scheduled = false;
  private readonly insert: Statement;
  private readonly insertMany: (rows: UsageRecord[]) => void;

  constructor(private readonly db: Db) {
    this.insert = db.prepare(`INSERT INTO usage (time_ms, request_id, tenant, key_id, model, replica, prompt_tokens, completion_tokens,
      cached_tokens, status, latency_ms, cache_hit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insertMany = db.transaction((rows: UsageRecord[]) => {
      for (const r of rows) {
        this.insert.run(r.timeMs, r.requestId, r.tenant, r.keyId ?? null, r.model, r.replica ?? null, r.promptTokens, r.completionTokens,
          r.cachedTokens, r.status, r.latencyMs, r.cacheHit ? 1 : 0);
      }
    });
  }

  /** Resolves once the record is committed. Records that arrive in the same event-loop turn share one transaction. */
  record(record: UsageRecord): Promise<void> {
    return new Promise((resolve) => {
      this.pending.push({ record, done: resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.insertMany(batch.map((p) => p.record));
    for (const p of batch) p.done();
  }

  private where(q: UsageQuery): { sql: string; args: (string | number)[] } {
    const clauses: string[] = [];
    const args: (string | number)[] = [];
    if (q.tenant) clauses.push('tenant = ?'), args.push(q.tenant);
    if (q.fromMs !== undefined) clauses.push('time_ms >= ?'), args.push(q.fromMs);
    if (q.toMs !== undefined) clauses.push('time_ms < ?'), args.push(q.toMs);
    return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', args };
  }

  /** Totals, grouped as asked. */
  aggregate(q: UsageQuery): UsageGroup[] {
    const groups = q.groupBy ?? [];
    const cols = groups.map((g) => `${GROUP_COLUMNS[g]} AS "${g}"`);
    const { sql, args } = this.where(q);
    const rows = this.db.prepare(`SELECT ${[...cols, `COUNT(*) AS requests, COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,
      COALESCE(SUM(completion_tokens), 0) AS completion_tokens, COALESCE(SUM(cached_tokens), 0) AS cached_tokens,
      COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS total_tokens, COALESCE(SUM(status >= 400), 0) AS errors,
      COALESCE(SUM(cache_hit), 0) AS cache_hits, COALESCE(ROUND(AVG(latency_ms), 3), 0) AS avg_latency_ms`].join(', ')}
      FROM usage ${sql} ${groups.length ? `GROUP BY ${groups.map((g) => `"${g}"`).join(', ')} ORDER BY ${groups.map((g) => `"${g}"`).join(', ')}` : ''}`).all(...args);
    return rows as UsageGroup[];
  }

  /** Tokens a tenant used since a moment: what a budget is checked against after a restart. */
  tokensSince(tenant: string, fromMs: number): number {
    const row = this.db.prepare('SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS n FROM usage WHERE tenant = ? AND time_ms >= ? AND cache_hit = 0').get(tenant, fromMs) as { n: number };
    return row.n;
  }

  /** Every record in the range, oldest first, as CSV rows (header first). */
  *csv(q: UsageQuery): Generator<string> {
    const { sql, args } = this.where(q);
    yield 'time,request_id,tenant,key_id,model,replica,prompt_tokens,completion_tokens,cached_tokens,status,latency_ms,cache_hit\n';
    const stmt = this.db.prepare(`SELECT * FROM usage ${sql} ORDER BY time_ms, id`);
    for (const r of stmt.iterate(...args) as Iterable<Record<string, string | number | null>>) {
      yield `${new Date(r.time_ms as number).toISOString()},${[r.request_id, r.tenant, r.key_id, r.model, r.replica].map(csvField).join(',')},${r.prompt_tokens},${r.completion_tokens},${r.cached_tokens},${r.status},${r.latency_ms},${r.cache_hit}\n`;
    }
  }
}

function csvField(v: string | number | null | undefined): string {
  if (v == null) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `group_by=tenant,model` from a query string. */
export function parseGroupBy(value: string | undefined): GroupBy[] {
  if (!value) return [];
  return value.split(',').map((g) => {
    if (!(GROUP_BY as readonly string[]).includes(g)) throw invalidRequest(`group_by '${g}' is not one of ${GROUP_BY.join(', ')}.`, 'group_by');
    return g as GroupBy;
  });
}
