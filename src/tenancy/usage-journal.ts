// The ledger's journal on disk: segments of JSON lines, one row each, and how a segment becomes SQLite rows.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Db } from './database.js';
import type { UsageRecord } from './usage-ledger.js';

/**
 * One usage record in the insert's column order. Positional, because a row is serialized on every response and an
 * array stringifies in about half the time of an object with names.
 */
export type UsageRow = [
  uid: string,
  timeMs: number,
  requestId: string,
  tenant: string,
  keyId: string | null,
  model: string,
  replica: string | null,
  promptTokens: number,
  completionTokens: number,
  cachedTokens: number,
  status: number,
  latencyMs: number,
  cacheHit: 0 | 1,
  /** What the answer's id is made of, so feedback may name the answer; absent from rows journaled before it. */
  answerKey?: string | null,
];

/** A row as journals before positional rows wrote it: the record with its uid, by name. */
type NamedRow = UsageRecord & { uid: string };

const fromNamed = (r: NamedRow): UsageRow => [
  r.uid,
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
  null,
];

/** The rows of a journal's text; a line cut short by a kill is skipped (its response never completed). */
export function rowsOfJournal(text: string): UsageRow[] {
  return text.split('\n').flatMap((line) => {
    if (!line) return [];
    try {
      const parsed = JSON.parse(line) as UsageRow | NamedRow;
      return [Array.isArray(parsed) ? parsed : fromNamed(parsed)];
    } catch {
      return [];
    }
  });
}

/** Inserts rows in one transaction; a row already there (a replayed journal) is skipped by its uid. */
export function rowInserter(db: Db): (rows: UsageRow[]) => void {
  const insert = db.prepare(`INSERT OR IGNORE INTO usage (uid, time_ms, request_id, tenant, key_id, model, replica, prompt_tokens,
    completion_tokens, cached_tokens, status, latency_ms, cache_hit, answer_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  return db.transaction((rows: UsageRow[]) => {
    for (const row of rows) {
      // A row journaled before rows had answer keys binds one value short.
      if (row.length < 14) row[13] = null;
      insert.run(row);
    }
  });
}

/** Moves a closed journal segment into SQLite, then deletes it (a crash in between only means a harmless replay). */
export function moveSegment(insertMany: (rows: UsageRow[]) => void, segmentPath: string): void {
  insertMany(rowsOfJournal(readFileSync(segmentPath, 'utf8')));
  unlinkSync(segmentPath);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * `<db>.usage-<pid>-<ledger>-<segment>.journal`, the ledger an id of its own so two ledgers of one process on one
 * database keep apart files (and `<db>.usage-<pid>-<segment>.journal`, `<db>.usage-<pid>.journal` from older versions).
 */
const JOURNAL_NAME = /^usage-(\d+)(?:-([0-9a-f]{8})-\d+|-\d+)?\.journal$/;

/** The ids of this process's open journals: their segments belong to a ledger still running. */
const openLedgers = new Set<string>();

/** Journal segments left behind by processes that are gone (or by an earlier process with this pid). */
export function deadJournals(databasePath: string): string[] {
  const dir = dirname(databasePath);
  const prefix = `${basename(databasePath)}.`;
  return readdirSync(dir).flatMap((name) => {
    const match = name.startsWith(prefix) ? JOURNAL_NAME.exec(name.slice(prefix.length)) : null;
    if (!match) return [];
    const pid = Number(match[1]);
    if (pid === process.pid) return match[2] && openLedgers.has(match[2]) ? [] : [join(dir, name)];
    return alive(pid) ? [] : [join(dir, name)];
  });
}

/** This process's journal: appended to, then closed as a segment for the writer and replaced by a fresh file. */
export class JournalSegments {
  /** Rows in the open segment. */
  rows = 0;
  private segment = 0;
  private closed = false;
  private path: string;
  private fd: number;
  private readonly id = randomBytes(4).toString('hex');

  constructor(private readonly databasePath: string) {
    openLedgers.add(this.id);
    this.path = this.pathOf(0);
    this.fd = openSync(this.path, 'a');
  }

  private pathOf(segment: number): string {
    return `${this.databasePath}.usage-${process.pid}-${this.id}-${segment}.journal`;
  }

  /** A call that ends after shutdown closed the journal finds nothing to write to, and must not crash the exit. */
  write(text: string): void {
    if (!this.closed) writeSync(this.fd, text);
  }

  /** Closes the open segment and begins the next; returns the closed one's path, or nothing if it was empty. */
  rotate(): string | undefined {
    if (this.rows === 0 || this.closed) return undefined;
    closeSync(this.fd);
    const closed = this.path;
    this.path = this.pathOf(++this.segment);
    this.fd = openSync(this.path, 'a');
    this.rows = 0;
    return closed;
  }

  /** Only once everything was rotated out and moved: the open segment is empty. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    openLedgers.delete(this.id);
    closeSync(this.fd);
    unlinkSync(this.path);
  }
}
