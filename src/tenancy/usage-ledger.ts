// The usage ledger: one row per request, journaled before the response ends and written to SQLite in batches, so a
// response a client received is accounted for even if the process is killed the next moment.
import { randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
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
  /** Set by the ledger: makes replaying a journal idempotent. */
  uid?: string;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

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

/**
 * Why a journal of our own: committing a SQLite transaction per response cost ~50 µs of a gateway round trip at low
 * load. Records are instead appended to this process's journal file (one write per event-loop turn, in the OS once it
 * returns, so a killed process loses nothing a client saw), then moved into SQLite in batches. A journal left by a process that died
 * is replayed into SQLite by the next one to open the database; a unique id per record makes replays harmless.
 */
export class UsageLedger {
  private pending: UsageRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private journalBuffer = '';
  private journaled: Promise<void> | undefined;
  private readonly insertMany: (rows: UsageRecord[]) => void;
  private readonly journal: number | undefined;
  private readonly journalPath: string | undefined;
  private readonly uidStem = `${process.pid.toString(36)}-${randomBytes(4).toString('hex')}-`;
  private uidCounter = 0;

  constructor(private readonly db: Db, databasePath: string, private readonly options: { flushMs?: number; maxPending?: number } = {}) {
    const insert = db.prepare(`INSERT OR IGNORE INTO usage (uid, time_ms, request_id, tenant, key_id, model, replica, prompt_tokens,
      completion_tokens, cached_tokens, status, latency_ms, cache_hit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insertMany = db.transaction((rows: UsageRecord[]) => {
      for (const r of rows) {
        insert.run(r.uid ?? null, r.timeMs, r.requestId, r.tenant, r.keyId ?? null, r.model, r.replica ?? null, r.promptTokens, r.completionTokens,
          r.cachedTokens, r.status, r.latencyMs, r.cacheHit ? 1 : 0);
      }
    });
    if (databasePath !== ':memory:') {
      this.recover(databasePath);
      this.journalPath = `${databasePath}.usage-${process.pid}.journal`;
      this.journal = openSync(this.journalPath, 'a');
    }
  }

  /** Journals of processes that are gone, moved into SQLite and removed. */
  private recover(databasePath: string): void {
    const dir = dirname(databasePath);
    const prefix = `${basename(databasePath)}.usage-`;
    for (const name of readdirSync(dir)) {
      const pid = Number(name.slice(prefix.length, -'.journal'.length));
      if (!name.startsWith(prefix) || !name.endsWith('.journal') || !Number.isInteger(pid) || (pid !== process.pid && alive(pid))) continue;
      const path = join(dir, name);
      const rows = readFileSync(path, 'utf8').split('\n').flatMap((line) => {
        try {
          return line ? [JSON.parse(line) as UsageRecord] : [];
        } catch {
          return []; // a line cut short by the kill: its response never completed
        }
      });
      this.insertMany(rows);
      unlinkSync(path);
    }
  }

  /**
   * Resolves once the record is in the journal; the caller answers its client after that. Records of one event-loop
   * turn share one write, so under load the journal costs a syscall per turn, not per request.
   */
  record(record: UsageRecord): Promise<void> {
    const row = { ...record, uid: this.uidStem + (this.uidCounter++).toString(36) };
    this.pending.push(row);
    this.timer ??= setTimeout(() => this.flush(), this.options.flushMs ?? 200).unref();
    if (this.journal === undefined) return Promise.resolve();
    this.journalBuffer += `${JSON.stringify(row)}\n`;
    this.journaled ??= new Promise((resolve) => setImmediate(() => {
      this.writeJournal();
      if (this.pending.length >= (this.options.maxPending ?? 1000)) this.flush();
      resolve();
    }));
    return this.journaled;
  }

  private writeJournal(): void {
    this.journaled = undefined;
    if (this.journal === undefined || !this.journalBuffer) return;
    writeSync(this.journal, this.journalBuffer);
    this.journalBuffer = '';
  }

  /** Moves journaled records into SQLite; synchronous, so no record can be journaled between commit and truncate. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    this.writeJournal();
    const batch = this.pending;
    this.pending = [];
    this.insertMany(batch);
    if (this.journal !== undefined) ftruncateSync(this.journal, 0);
  }

  close(): void {
    this.flush();
    if (this.journal !== undefined) {
      closeSync(this.journal);
      unlinkSync(this.journalPath!);
    }
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
    this.flush();
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
    this.flush();
    const row = this.db.prepare('SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS n FROM usage WHERE tenant = ? AND time_ms >= ? AND cache_hit = 0').get(tenant, fromMs) as { n: number };
    return row.n;
  }

  /** Every record in the range, oldest first, as CSV rows (header first). */
  *csv(q: UsageQuery): Generator<string> {
    this.flush();
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
