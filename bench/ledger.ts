// bench:ledger: what the usage ledger's writer thread pays to move a row into SQLite as the table grows, with the ids
// this server makes (a stem and a counter) against random ids a client or a mesh sends as x-request-id (Envoy, Istio
// and nginx's $request_id put a fresh UUID on every request). Real schema, real inserter, rows in transactions of
// one journal segment; CPU (user + system) and wall time per row over each stretch, and a chart of both.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { newId } from '../src/server/inference-endpoint.js';
import { openDatabase } from '../src/tenancy/database.js';
import { rowInserter, type UsageRow } from '../src/tenancy/usage-journal.js';
import { usageUids } from '../src/tenancy/usage-ledger.js';
import { writeChart } from './chart-file.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
/** Rows a 200 ms journal segment holds at 5,000 requests/s: one transaction of the writer. */
const SEGMENT = Number(process.env.BENCH_SEGMENT ?? 1000);
const STRETCH = Math.max(SEGMENT, Math.round(ROWS / 10 / SEGMENT) * SEGMENT);
if (!(Number.isInteger(SEGMENT) && SEGMENT > 0 && Number.isInteger(ROWS) && ROWS >= SEGMENT)) {
  console.error(`bench:ledger: BENCH_ROWS (${ROWS}) must be a whole number of rows at least BENCH_SEGMENT (${SEGMENT}), itself at least 1`);
  process.exit(2);
}

const SCHEMES: Record<string, () => string> = {
  'our request ids': () => newId('req_'),
  'client UUIDs': () => randomUUID(),
};

interface Stretch {
  rows: number;
  cpuUs: number;
  wallUs: number;
}

function run(name: string, requestId: () => string, bar: SingleBar): Stretch[] {
  const dir = mkdtempSync(join(tmpdir(), 'autoglm-bench-ledger-'));
  const db = openDatabase(join(dir, 'ledger.db'));
  const insert = rowInserter(db);
  const uid = usageUids();
  const stretches: Stretch[] = [];
  let done = 0;
  let cpu = 0;
  let wall = 0;
  try {
    while (done < ROWS) {
      // Made before the clock starts: what is measured is the writer's work, not this script's.
      const rows: UsageRow[] = [];
      for (let i = 0; i < SEGMENT; i++, done++) {
        const t = Date.now();
        rows.push([uid(), t, requestId(), 'acme', 'key_1', 'chat', '10.0.0.7:8000', 40, 120, 0, 200, 12.5, 0, newId('')]);
      }
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      insert(rows);
      wall += (performance.now() - w0) * 1000;
      const c = process.cpuUsage(c0);
      cpu += c.user + c.system;
      if (done % STRETCH === 0) {
        stretches.push({ rows: done, cpuUs: cpu / STRETCH, wallUs: wall / STRETCH });
        cpu = 0;
        wall = 0;
      }
      bar.update(done, { step: name });
    }
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return stretches;
}

const bar = new SingleBar({ format: 'bench:ledger [{bar}] {value}/{total} rows | {step}', stream: process.stderr }, Presets.shades_classic);
const results = new Map<string, Stretch[]>();
try {
  for (const [name, scheme] of Object.entries(SCHEMES)) {
    bar.start(ROWS, 0, { step: name });
    results.set(name, run(name, scheme, bar));
  }
} finally {
  bar.stop();
}

console.log(`\nusage rows into SQLite in transactions of ${SEGMENT}; µs per row over each stretch of ${STRETCH} rows`);
console.log(`${'table rows'.padStart(10)} ${[...results.keys()].map((n) => `${`${n}: CPU`.padStart(22)} ${'wall'.padStart(7)}`).join(' ')}`);
const first = [...results.values()][0]!;
for (const [i, s] of first.entries()) {
  const cells = [...results.values()].map((r) => `${r[i]!.cpuUs.toFixed(1).padStart(22)} ${r[i]!.wallUs.toFixed(1).padStart(7)}`);
  console.log(`${String(s.rows).padStart(10)} ${cells.join(' ')}`);
}
const [ours, theirs] = [...results.values()].map((r) => r.at(-1)!);
console.log(`last stretch, client UUIDs / our ids: CPU ${(theirs!.cpuUs / ours!.cpuUs).toFixed(2)}x, wall ${(theirs!.wallUs / ours!.wallUs).toFixed(2)}x`);

writeChart('ledger-rows.svg', {
  title: 'Usage ledger: writer time per row as the table grows',
  xLabel: 'rows in the table (thousands)',
  yLabel: 'µs per row',
  series: [...results].flatMap(([name, r]) => [
    { name: `${name}, wall`, data: r.map((s) => [s.rows / 1000, s.wallUs] as [number, number]) },
    { name: `${name}, CPU`, data: r.map((s) => [s.rows / 1000, s.cpuUs] as [number, number]) },
  ]),
});
