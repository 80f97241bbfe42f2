// The thread that moves closed journal segments into SQLite, and how the serving thread waits for it when it must.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** How long a query waits for segments still being written before it reads what is there. */
const SETTLE_TIMEOUT_MS = 10_000;

/**
 * The thread's file sits next to this one: compiled (.js), or run from source (.ts), where the thread first registers
 * tsx itself, because Node 20 does not apply `--import` hooks to a worker's entry file.
 */
function startThread(workerData: object): Worker {
  const extension = extname(fileURLToPath(import.meta.url));
  const entry = new URL(`./segment-writer-thread${extension}`, import.meta.url);
  if (extension !== '.ts') return new Worker(entry, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry.href)}); })`, { eval: true, workerData });
}

export class SegmentWriter {
  /** Started with the first segment to move: a server that has served nothing keeps no thread (~10 MB) around. */
  private worker: Worker | undefined;
  /** [segments moved]: the thread counts up and notifies, so `settle` can wait without an event-loop turn. */
  private readonly moved = new Int32Array(new SharedArrayBuffer(4));
  private sent = 0;
  private dead = false;

  /** `moveHere` does the thread's work on this thread, should the thread die. */
  constructor(
    private readonly databasePath: string,
    private readonly moveHere: (segmentPath: string) => void,
  ) {}

  private start(): Worker {
    const worker = startThread({ databasePath: this.databasePath, moved: this.moved });
    // A failing write leaves its segment on disk, where the next start replays it; say so instead of losing it quietly.
    worker.on('message', (m: { error?: string }) => {
      if (m.error) process.emitWarning(`usage ledger: a journal segment could not be written to SQLite and stays on disk for the next start: ${m.error}`);
    });
    worker.on('error', (err: unknown) => {
      this.dead = true;
      process.emitWarning(
        `usage ledger: the writer thread failed (${err instanceof Error ? err.message : String(err)}); rows are now written on the main thread`,
      );
    });
    worker.unref();
    return worker;
  }

  /** Queues a closed segment to be inserted and deleted. */
  move(segmentPath: string): void {
    if (this.dead) {
      this.moveHere(segmentPath);
      return;
    }
    this.sent++;
    (this.worker ??= this.start()).postMessage(segmentPath);
  }

  /** Blocks until every queued segment is in SQLite: queries are rare and must see every response already answered. */
  settle(): void {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (let done = Atomics.load(this.moved, 0); done < this.sent && !this.dead; done = Atomics.load(this.moved, 0)) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      Atomics.wait(this.moved, 0, done, left);
    }
  }

  close(): void {
    void this.worker?.terminate();
  }
}
