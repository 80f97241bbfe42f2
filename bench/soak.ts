// bench:soak: 100k requests through the gateway (built, in its own process, auth and ledger on) to two `sim` replicas
// (preset instant), 32 at a time, in 20 batches of 5k; after each batch a full GC in the gateway (over the DevTools
// protocol), then its RSS and JS heap, a chart of both, and the growth over the second half. SOAK_HEAP_SNAPSHOTS=1
// also compares heap snapshots taken at half and at the end (a snapshot costs memory itself, so the RSS of such a run
// is not comparable to a plain one).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { Pool } from 'undici';
import { writeChart } from './chart-file.js';
import { heapGrowth } from './soak/heap-diff.js';
import { Inspector } from './soak/inspector.js';

const repoRoot = resolve(import.meta.dirname, '..');
const BATCHES = Number(process.env.SOAK_BATCHES ?? 20);
const BATCH = Number(process.env.SOAK_BATCH ?? 5000);
const CONCURRENCY = 32;
const SNAPSHOTS = process.env.SOAK_HEAP_SNAPSHOTS === '1';
/** Growth over the last quarter below this (MB per 10k requests) counts as levelled off. */
const LEVEL_MB_PER_10K = 1;

const dir = mkdtempSync(join(tmpdir(), 'autoglm-soak-'));
const mb = (bytes: number) => bytes / 2 ** 20;
/** RSS and its parts, in bytes: anonymous memory (heaps, malloc) and file pages (code and mapped files). */
function rssOf(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

function startGateway(): Promise<{ child: ChildProcess; url: string; inspector: string }> {
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    [
      'auth: { enabled: true }',
      `database: ${join(dir, 'soak.db')}`,
      'tenants: { soak: {} }',
      'models:',
      '  chat:',
      '    replicas:',
      '      - { type: sim, id: a, preset: instant, outputTokens: 16 }',
      '      - { type: sim, id: b, preset: instant, outputTokens: 16 }',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', join(repoRoot, 'dist/cli/main.js'), 'serve', '--config', config, '--port', '0'], {
    cwd: dir,
    env: { ...process.env, AUTOGLM_DATA_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((res, rej) => {
    const onData = (d: Buffer) => {
      out += d;
      const url = /gateway at (http:\/\/[\d.:]+)\/v1/.exec(out)?.[1];
      const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(out)?.[1];
      if (url && inspector) res({ child, url, inspector });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => rej(new Error(`the gateway exited with ${code}: ${out.slice(-500)}`)));
  });
}

function createKey(): Promise<string> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist/cli/main.js'), 'keys', 'create', '--tenant', 'soak', '--database', join(dir, 'soak.db')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((res, rej) => child.once('exit', (code) => (code === 0 ? res(out.trim()) : rej(new Error(`keys create failed: ${err}`)))));
}

/** Three kinds of call, each with its own text, so caches and the ledger see a stream of distinct requests. */
function requestFor(i: number): { path: string; body: string; stream: boolean } {
  const content = `Request ${i}: tell me about topic ${i % 997}.`;
  if (i % 10 === 0)
    return {
      path: '/v1/chat/completions',
      stream: true,
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content }], stream: true, stream_options: { include_usage: true } }),
    };
  if (i % 10 === 1) return { path: '/v1/completions', stream: false, body: JSON.stringify({ model: 'chat', prompt: content, max_tokens: 16 }) };
  return {
    path: '/v1/chat/completions',
    stream: false,
    body: JSON.stringify({
      model: 'chat',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content },
      ],
      max_tokens: 16,
    }),
  };
}

let pool: Pool;

function asciiChart(rows: { label: string; value: number }[], unit: string): string {
  const lo = Math.min(...rows.map((r) => r.value));
  const hi = Math.max(...rows.map((r) => r.value));
  // From just below the lowest value, so a few MB of difference are visible.
  const floor = Math.max(0, lo - (hi - lo) * 0.25 - 1);
  return rows
    .map(
      (r) => `${r.label.padStart(6)} ${r.value.toFixed(1).padStart(7)} ${unit} ${'#'.repeat(Math.max(1, Math.round(((r.value - floor) / (hi - floor)) * 50)))}`,
    )
    .join('\n');
}

/** Least-squares slope of ys over xs. */
function slope(xs: number[], ys: number[]): number {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const num = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0);
  const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

async function main(): Promise<number> {
  const { child, url, inspector: inspectorUrl } = await startGateway();
  pool = new Pool(url, { connections: CONCURRENCY });
  const inspector = await Inspector.connect(inspectorUrl);
  /** Memory at the same point of every batch: after a full GC. */
  const measure = async () => {
    const heap = await inspector.heapAfterGc();
    return { ...rssOf(child.pid!), heap, external: await inspector.externalMemory() };
  };
  const key = await createKey();
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const failures = new Map<string, number>();
  const fail = (why: string) => failures.set(why, (failures.get(why) ?? 0) + 1);
  type Sample = Awaited<ReturnType<typeof measure>> & { requests: number; rps: number };
  const samples: Sample[] = [{ requests: 0, ...(await measure()), rps: 0 }];
  const snapshots: string[] = [];
  const bar = new SingleBar(
    { format: 'bench:soak [{bar}] {value}/{total} requests | RSS {rss} MB | heap {heap} MB | {rps} req/s', stream: process.stderr },
    Presets.shades_classic,
  );
  bar.start(BATCHES * BATCH, 0, { rss: mb(samples[0]!.rss).toFixed(0), heap: mb(samples[0]!.heap).toFixed(0), rps: '-' });
  let next = 0;
  try {
    for (let batch = 1; batch <= BATCHES; batch++) {
      const end = batch * BATCH;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < end) {
            const { path, body, stream } = requestFor(next++);
            try {
              const res = await pool.request({ path, method: 'POST', headers, body });
              const text = await res.body.text();
              if (res.statusCode !== 200) fail(`${res.statusCode}: ${text.slice(0, 120)}`);
              else if (stream && !text.trimEnd().endsWith('data: [DONE]')) fail('a stream that did not end with [DONE]');
            } catch (err) {
              fail((err as Error).message);
            }
            bar.increment();
          }
        }),
      );
      const rps = BATCH / ((performance.now() - started) / 1000);
      const sample = { requests: end, ...(await measure()), rps };
      samples.push(sample);
      bar.update({ rss: mb(sample.rss).toFixed(0), heap: mb(sample.heap).toFixed(0), rps: rps.toFixed(0) });
      if (SNAPSHOTS && (batch === Math.floor(BATCHES / 2) || batch === BATCHES)) {
        const file = join(dir, `at-${end}.heapsnapshot`);
        await inspector.heapSnapshot(file);
        snapshots.push(file);
      }
    }
  } finally {
    bar.stop();
    inspector.close();
    await pool.close();
    child.kill('SIGINT');
  }

  const rows = samples.slice(1);
  console.log(
    `\n${BATCHES * BATCH} requests through the gateway to 2 sim replicas (instant), ${CONCURRENCY} at a time; gateway memory after a full GC after each batch of ${BATCH}`,
  );
  console.log(
    `${'requests'.padStart(8)} ${'RSS'.padStart(8)} ${'anon'.padStart(8)} ${'file'.padStart(8)} ${'JS heap'.padStart(8)} ${'external'.padStart(9)}  (MB)`,
  );
  for (const s of samples)
    console.log(
      `${`${s.requests / 1000}k`.padStart(8)} ${[s.rss, s.anon, s.file, s.heap].map((v) => mb(v).toFixed(1).padStart(8)).join(' ')} ${mb(s.external).toFixed(1).padStart(9)}`,
    );
  console.log('\nRSS');
  console.log(
    asciiChart(
      rows.map((s) => ({ label: `${s.requests / 1000}k`, value: mb(s.rss) })),
      'MB',
    ),
  );
  console.log('\nJS heap used after GC');
  console.log(
    asciiChart(
      rows.map((s) => ({ label: `${s.requests / 1000}k`, value: mb(s.heap) })),
      'MB',
    ),
  );
  console.log(`\nthroughput: ${Math.min(...rows.map((s) => s.rps)).toFixed(0)}-${Math.max(...rows.map((s) => s.rps)).toFixed(0)} req/s per batch`);

  writeChart('soak-rss.svg', {
    title: `Gateway memory over ${(BATCHES * BATCH) / 1000}k requests`,
    xLabel: 'requests (thousands)',
    yLabel: 'MB',
    yMax: Math.max(...samples.map((s) => mb(s.rss))) * 1.15,
    series: [
      { name: 'RSS', data: samples.map((s) => [s.requests / 1000, mb(s.rss)]) },
      { name: 'RSS anonymous', data: samples.map((s) => [s.requests / 1000, mb(s.anon)]) },
      { name: 'JS heap after GC', data: samples.map((s) => [s.requests / 1000, mb(s.heap)]) },
    ],
  });

  const half = rows.slice(Math.floor(rows.length / 2) - 1);
  const per10k = (values: number[], over = half) =>
    slope(
      over.map((s) => s.requests / 10_000),
      values,
    );
  const rssGrowth = mb(half[half.length - 1]!.rss - half[0]!.rss);
  const rssSlope = per10k(half.map((s) => mb(s.rss)));
  const heapSlope = per10k(half.map((s) => mb(s.heap)));
  const partsSlope = `anonymous ${per10k(half.map((s) => mb(s.anon))).toFixed(2)}, file ${per10k(half.map((s) => mb(s.file))).toFixed(2)}, external ${per10k(half.map((s) => mb(s.external))).toFixed(2)}`;
  console.log(
    `\nsecond half (${half[0]!.requests / 1000}k -> ${half[half.length - 1]!.requests / 1000}k requests): RSS ${rssGrowth >= 0 ? '+' : ''}${rssGrowth.toFixed(1)} MB, ` +
      `${rssSlope.toFixed(2)} MB per 10k requests (least squares; of it ${partsSlope}); JS heap ${heapSlope.toFixed(2)} MB per 10k requests`,
  );
  // Memory that fills up once (JIT code, the allocator's per-thread arenas, caches reaching their bounds) grows at
  // first and slows down; a leak keeps its pace. So the verdict is on the last quarter.
  const quarter = rows.slice(Math.floor((rows.length * 3) / 4) - 1);
  const tailSlope = per10k(
    quarter.map((s) => mb(s.rss)),
    quarter,
  );
  console.log(
    `last quarter (${quarter[0]!.requests / 1000}k -> ${quarter[quarter.length - 1]!.requests / 1000}k requests): RSS ${tailSlope.toFixed(2)} MB per 10k requests`,
  );
  const levelled = tailSlope <= LEVEL_MB_PER_10K;
  console.log(
    levelled
      ? `RSS levels off (<= ${LEVEL_MB_PER_10K} MB per 10k requests over the last quarter)`
      : `RSS keeps growing (> ${LEVEL_MB_PER_10K} MB per 10k requests over the last quarter)${SNAPSHOTS ? '' : ': run again with SOAK_HEAP_SNAPSHOTS=1 to see what grows'}`,
  );

  if (snapshots.length === 2) {
    console.log(`\nheap growth between the snapshots at ${(BATCHES * BATCH) / 2000}k and ${(BATCHES * BATCH) / 1000}k requests (${snapshots.join(', ')}):`);
    for (const g of heapGrowth(snapshots[0]!, snapshots[1]!))
      console.log(`  ${(g.bytes / 1024).toFixed(0).padStart(8)} KB  ${String(g.count).padStart(8)} objects  ${g.name}`);
  }
  if (failures.size > 0) {
    console.log('\nfailed requests:');
    for (const [why, n] of failures) console.log(`  ${n} x ${why}`);
    console.error(`bench:soak: ${[...failures.values()].reduce((a, b) => a + b, 0)} requests failed`);
    return 1;
  }
  if (!levelled) {
    console.error(`bench:soak: the gateway's RSS still grew ${tailSlope.toFixed(2)} MB per 10k requests over the last quarter`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
