// Stored responses (the Responses API's `store`): each tenant's answers and the conversation they answered, in the
// tenancy's SQLite file, bounded by age and by count. The rows are opaque JSON: the wire dialect owns their shape.
import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';
import { PendingRows } from './pending-rows.js';

/** One stored answer: the response as it was sent, and the conversation items it answered (without instructions). */
export interface StoredResponse {
  /** The response's JSON text, as the client received it. */
  response: string;
  /** The input items (JSON text) the response answered, the earlier turns of its conversation included. */
  input: string;
}

export interface ResponseStoreOptions {
  /** How long a response is kept, in milliseconds. */
  ttlMs: number;
  /** The most responses kept in all; the oldest go first. */
  maxStored: number;
  /** Epoch milliseconds, injected for tests. */
  now?: () => number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS responses (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  response TEXT NOT NULL,
  input TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_created ON responses(created_ms);
`;

/** Expired rows are swept at most this often; reads skip them in between. */
const SWEEP_EVERY_MS = 60_000;

/** A row as it is inserted: id, tenant, created_ms, response, input. */
type RowValues = [string, string, number, string, string];

interface Row extends StoredResponse {
  created_ms: number;
}

export class ResponseStore {
  private readonly insert: Statement<RowValues>;
  private readonly select: Statement<[string, string], Row>;
  private readonly remove: Statement<[string, string]>;
  private readonly deleteOldest: Statement<[number]>;
  private readonly now: () => number;
  /** Written in batches: a commit per response measured ~100 µs of CPU, a quarter of a gateway round trip. */
  private readonly pending = new PendingRows<RowValues>((rows) => this.write(rows));
  private count: number;
  private lastSweep = 0;

  constructor(
    private readonly db: Db,
    private readonly options: ResponseStoreOptions,
  ) {
    db.exec(SCHEMA);
    this.now = options.now ?? Date.now;
    this.insert = db.prepare('INSERT OR REPLACE INTO responses (id, tenant, created_ms, response, input) VALUES (?, ?, ?, ?, ?)');
    this.select = db.prepare('SELECT response, input, created_ms FROM responses WHERE id = ? AND tenant = ?');
    this.remove = db.prepare('DELETE FROM responses WHERE id = ? AND tenant = ?');
    this.deleteOldest = db.prepare('DELETE FROM responses WHERE rowid IN (SELECT rowid FROM responses ORDER BY created_ms, rowid LIMIT ?)');
    this.count = (db.prepare('SELECT COUNT(*) AS n FROM responses').get() as { n: number }).n;
  }

  /** Keeps a response for its tenant: readable here at once, written with the others pending. */
  put(tenant: string, id: string, stored: StoredResponse): void {
    this.pending.add([id, tenant, this.now(), stored.response, stored.input]);
  }

  /** The tenant's response with this id; another tenant's, an expired or an unknown one is undefined alike. */
  get(tenant: string, id: string): StoredResponse | undefined {
    this.flush();
    const row = this.select.get(id, tenant);
    if (!row || row.created_ms <= this.now() - this.options.ttlMs) return undefined;
    return { response: row.response, input: row.input };
  }

  /** Removes the tenant's response; false when it has none by that id. */
  delete(tenant: string, id: string): boolean {
    this.flush();
    const removed = this.remove.run(id, tenant).changes > 0;
    if (removed) this.count--;
    return removed;
  }

  /** Writes what is pending, then drops expired rows (now and then) and the oldest past the size bound. */
  flush(): void {
    this.pending.flush();
  }

  private write(rows: RowValues[]): void {
    // Rows pending when the database closed have nowhere left to go.
    if (!this.db.open) return;
    this.db.transaction(() => {
      for (const row of rows) this.insert.run(...row);
    })();
    this.count += rows.length;
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_EVERY_MS) {
      this.lastSweep = now;
      this.db.prepare('DELETE FROM responses WHERE created_ms <= ?').run(now - this.options.ttlMs);
      this.recount();
    }
    // The count is this process's view, learned again at each sweep: other processes may share the file, so there the
    // bound holds from one sweep to the next. It is not counted again before each delete: at the bound, a count of the
    // whole table per flush cost more than the responses it stored (a replaced id, counted as new, only means one more
    // old row goes). Past the bound, 1% more than the excess goes, so a full table deletes once per 1% of it, not per flush.
    if (this.count > this.options.maxStored) {
      const excess = this.count - this.options.maxStored + Math.floor(this.options.maxStored / 100);
      this.count -= this.deleteOldest.run(excess).changes;
    }
  }

  private recount(): void {
    this.count = (this.db.prepare('SELECT COUNT(*) AS n FROM responses').get() as { n: number }).n;
  }
}
