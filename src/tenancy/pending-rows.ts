// Rows waiting to be written to SQLite together: taken after a short delay or once enough have gathered, so a busy
// server commits once per batch instead of once per request.
//
// A commit costs far more than a row: 35-55 µs a row when each turn of the event loop committed its one or two rows,
// against about 5 µs a row in batches of a few hundred. A store holding rows here flushes before it reads, so its own
// reads see them at once; another process sharing the file sees them up to DELAY_MS later, and a crash loses at most
// that window.

/** How long the first pending row waits for others, and how many are written at once without waiting. */
const DELAY_MS = 100;
const MAX_ROWS = 256;

export class PendingRows<Row> {
  private rows: Row[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** `write` gets every row pending at once; the store runs it in one transaction. */
  constructor(private readonly write: (rows: Row[]) => void) {}

  add(row: Row): void {
    this.rows.push(row);
    if (this.rows.length >= MAX_ROWS) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), DELAY_MS);
      // Pending rows do not keep a process alive; closing the store flushes them.
      this.timer.unref();
    }
  }

  /** Writes what is pending now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.rows.length === 0) return;
    const rows = this.rows;
    this.rows = [];
    this.write(rows);
  }
}
