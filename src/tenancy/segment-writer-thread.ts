// Worker thread: inserts each closed journal segment it is sent into SQLite, then deletes the segment.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './database.js';
import { moveSegment, rowInserter } from './usage-journal.js';

const { databasePath, moved } = workerData as { databasePath: string; moved: Int32Array };
const db = openDatabase(databasePath);
const insertMany = rowInserter(db);

parentPort!.on('message', (segmentPath: string) => {
  try {
    moveSegment(insertMany, segmentPath);
  } catch (err) {
    parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) });
  } finally {
    Atomics.add(moved, 0, 1);
    Atomics.notify(moved, 0);
  }
});
