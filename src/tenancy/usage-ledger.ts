// The usage ledger: one row per request, journaled before the response ends and written to SQLite in batches by a
// writer thread, so a response a client received is accounted for even if the process is killed the next moment.
import { randomBytes } from 'node:crypto';
import { invalidRequest } from '../core/index.js';
import type { Db } from './database.js';
import { deadJournals, JournalSegments, moveSegment, rowInserter, type UsageRow } from './usage-journal.js';
import { SegmentWriter } from './segment-writer.js';

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
  /** What the answer's id is made of (CallContext.answerKey), for calls that answer with one. */
  answerKey?: string;
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

/**
 * Why a journal of our own: committing a SQLite transaction per response cost ~50 µs of a gateway round trip at low
 * load. Records are instead appended to this process's journal (one write per event-loop turn, in the OS once it
 * returns, so a killed process loses nothing a client saw). Every 200 ms the journal is closed as a segment and a new
 * one begun; a writer thread moves closed segments into SQLite and deletes them, so the B-tree work (a few µs a row)
 * stays off the thread that serves requests. Segments left by a process that died are replayed into SQLite by the
 * next one to open the database; a unique id per record makes replays harmless.
 */
/**
 * Record ids: this process's stem and a counter, unique across processes without random bytes per row, and nearly in
 * order, so the unique index on them grows at its edge rather than at random pages.
 */
export function usageUids(): () => string {
  const stem = `${process.pid.toString(36)}-${randomBytes(4).toString('hex')}-`;
  let counter = 0;
  return () => stem + (counter++).toString(36);
}

export class UsageLedger {
  /** Rows not in SQLite yet, only without a journal (an in-memory database has no file to journal next to). */
  private pending: UsageRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private journalBuffer = '';
  private journaled: Promise<void> | undefined;
  private readonly insertMany: (rows: UsageRow[]) => void;
  private readonly journal: JournalSegments | undefined;
  private readonly writer: SegmentWriter | undefined;
  private readonly nextUid = usageUids();

  constructor(
    private readonly db: Db,
    databasePath: string,
    private readonly options: { flushMs?: number; maxPending?: number } = {},
  ) {
    this.insertMany = rowInserter(db);
    if (databasePath !== ':memory:') {
      const moveHere = (segmentPath: string) => moveSegment(this.insertMany, segmentPath);
      deadJournals(databasePath).forEach(moveHere);
      this.journal = new JournalSegments(databasePath);
      this.writer = new SegmentWriter(databasePath, moveHere);
    }
  }

  /**
   * Resolves once the record is in the journal; the caller answers its client after that. Records of one event-loop
   * turn share one write, so under load the journal costs a syscall per turn, not per request.
   */
  record(r: UsageRecord): Promise<void> {
    const row: UsageRow = [
      this.nextUid(),
      r.timeMs,
      r.requestId,
      r.tenant,
      r.keyId ?? null,
      r.model,
      r.replica ?? null,
      r.promptTokens,
      r.completionTokens,
      r.cachedTokens,
      r.status,
      r.latencyMs,
      r.cacheHit ? 1 : 0,
      r.answerKey ?? null,
    ];
    this.timer ??= setTimeout(() => this.flush(), this.options.flushMs ?? 200).unref();
    if (!this.journal) {
      this.pending.push(row);
      return Promise.resolve();
    }
    this.journalBuffer += `${JSON.stringify(row)}\n`;
    this.journal.rows++;
    this.journaled ??= new Promise((resolve) =>
      setImmediate(() => {
        this.writeJournal();
        if (this.journal!.rows >= (this.options.maxPending ?? 1000)) this.flush();
        resolve();
      }),
    );
    return this.journaled;
  }

  private writeJournal(): void {
    this.journaled = undefined;
    if (!this.journal || !this.journalBuffer) return;
    this.journal.write(this.journalBuffer);
    this.journalBuffer = '';
  }

  /** Hands what was journaled so far to the writer thread (or, without a journal, inserts it here). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.journal) {
      if (this.pending.length) this.insertMany(this.pending.splice(0));
      return;
    }
    this.writeJournal();
    const segment = this.journal.rotate();
    if (segment) this.writer!.move(segment);
  }

  /** Everything recorded so far is in SQLite: what a query must see. */
  private settle(): void {
    this.flush();
    this.writer?.settle();
  }

  close(): void {
    this.settle();
    this.writer?.close();
    this.journal?.close();
  }

  private where(q: UsageQuery): { sql: string; args: (string | number)[] } {
    const clauses: string[] = [];
    const args: (string | number)[] = [];
    const add = (clause: string, value: string | number) => {
      clauses.push(clause);
      args.push(value);
    };
    if (q.tenant) add('tenant = ?', q.tenant);
    if (q.fromMs !== undefined) add('time_ms >= ?', q.fromMs);
    if (q.toMs !== undefined) add('time_ms < ?', q.toMs);
    return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', args };
  }

  /** Totals, grouped as asked. */
  aggregate(q: UsageQuery): UsageGroup[] {
    this.settle();
    const groups = q.groupBy ?? [];
    const cols = groups.map((g) => `${GROUP_COLUMNS[g]} AS "${g}"`);
    const { sql, args } = this.where(q);
    const rows = this.db
      .prepare(`SELECT ${[
        ...cols,
        `COUNT(*) AS requests, COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,
      COALESCE(SUM(completion_tokens), 0) AS completion_tokens, COALESCE(SUM(cached_tokens), 0) AS cached_tokens,
      COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS total_tokens, COALESCE(SUM(status >= 400), 0) AS errors,
      COALESCE(SUM(cache_hit), 0) AS cache_hits, COALESCE(ROUND(AVG(latency_ms), 3), 0) AS avg_latency_ms`,
      ].join(', ')}
      FROM usage ${sql} ${groups.length ? `GROUP BY ${groups.map((g) => `"${g}"`).join(', ')} ORDER BY ${groups.map((g) => `"${g}"`).join(', ')}` : ''}`)
      .all(...args);
    return rows as UsageGroup[];
  }

  /** Tokens a tenant used since a moment: what a budget is checked against after a restart. */
  tokensSince(tenant: string, fromMs: number): number {
    this.settle();
    const row = this.db
      .prepare('SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS n FROM usage WHERE tenant = ? AND time_ms >= ? AND cache_hit = 0')
      .get(tenant, fromMs) as { n: number };
    return row.n;
  }

  /**
   * The latest request of a tenant by this request id (or answer key) recorded since `fromMs`: how feedback finds a
   * request no managed prompt served, for which nothing else is written.
   */
  answered(tenant: string, id: string, by: 'request' | 'answer', fromMs: number): { requestId: string; answerKey?: string } | undefined {
    const column = by === 'request' ? 'request_id' : 'answer_key';
    const lookup = () =>
      this.db
        .prepare(`SELECT request_id, answer_key FROM usage WHERE tenant = ? AND ${column} = ? AND time_ms >= ? ORDER BY time_ms DESC LIMIT 1`)
        .get(tenant, id, fromMs) as { request_id: string; answer_key: string | null } | undefined;
    // Most feedback comes after its call's row is in SQLite; only a miss waits for the writer thread to catch up.
    let row = lookup();
    if (!row) {
      this.settle();
      row = lookup();
    }
    if (!row) return undefined;
    return { requestId: row.request_id, ...(row.answer_key !== null && { answerKey: row.answer_key }) };
  }

  /** Every record in the range, oldest first, as CSV rows (header first). */
  *csv(q: UsageQuery): Generator<string> {
    this.settle();
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
