// The usage ledger on a real SQLite file: what a query sees right after calls, and journals left by dead processes.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase, UsageLedger, type UsageRecord } from '../../src/tenancy/index.js';

const record = (i: number, over: Partial<UsageRecord> = {}): UsageRecord => ({
  timeMs: Date.now(),
  requestId: `req-${i}`,
  tenant: 'acme',
  model: 'm',
  promptTokens: 3,
  completionTokens: 4,
  cachedTokens: 0,
  status: 200,
  latencyMs: 1.5,
  cacheHit: false,
  ...over,
});

/** A pid no process has: the highest pid Linux hands out is far below this. */
const DEAD_PID = 4_000_000;

describe('usage ledger', () => {
  it('a query right after the calls sees every one of them (the writer thread is waited for)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'autoglm-ledger-unit-')), 'a.db');
    const db = openDatabase(path);
    const ledger = new UsageLedger(db, path, { flushMs: 60_000 });
    await Promise.all(Array.from({ length: 250 }, (_, i) => ledger.record(record(i, { keyId: i % 2 ? 'k1' : undefined }))));
    const [total] = ledger.aggregate({});
    assert.equal(total!.requests, 250);
    assert.equal(total!.total_tokens, 250 * 7);
    const byKey = ledger.aggregate({ groupBy: ['key'] });
    assert.deepEqual(
      byKey.map((g) => [g.key, g.requests]),
      [
        [null, 125],
        ['k1', 125],
      ],
    );
    await ledger.record(record(250));
    assert.equal(ledger.aggregate({})[0]!.requests, 251, 'a second query sees the newer row too');
    ledger.close();
    assert.deepEqual(
      readdirSync(join(path, '..')).filter((f) => f.endsWith('.journal')),
      [],
      'no journal is left after a clean close',
    );
    db.close();
  });

  it('a call that ends after the ledger closed (a shutdown cutting calls short) does not crash the process', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'autoglm-ledger-unit-')), 'c.db');
    const db = openDatabase(path);
    const ledger = new UsageLedger(db, path);
    await ledger.record(record(1));
    ledger.close();
    await ledger.record(record(2));
    ledger.close();
    db.close();
  });

  it("replays journals left by a dead process, in today's and in the older format, once", () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoglm-ledger-unit-'));
    const path = join(dir, 'b.db');
    const positional = [`d-1`, Date.now(), 'req-a', 'acme', null, 'm', 'r1', 5, 6, 0, 200, 2.5, 0];
    const named = {
      uid: 'd-2',
      timeMs: Date.now(),
      requestId: 'req-b',
      tenant: 'acme',
      model: 'm',
      promptTokens: 1,
      completionTokens: 1,
      cachedTokens: 0,
      status: 429,
      latencyMs: 0.5,
      cacheHit: false,
    };
    writeFileSync(join(dir, `b.db.usage-${DEAD_PID}-3.journal`), `${JSON.stringify(positional)}\n{"uid":"cut-sh`);
    writeFileSync(join(dir, `b.db.usage-${DEAD_PID}.journal`), `${JSON.stringify(named)}\n`);
    const db = openDatabase(path);
    const ledger = new UsageLedger(db, path);
    const rows = ledger.aggregate({ groupBy: ['status'] });
    assert.deepEqual(
      rows.map((g) => [g.status, g.requests, g.total_tokens]),
      [
        [200, 1, 11],
        [429, 1, 2],
      ],
    );
    assert.ok(
      !existsSync(join(dir, `b.db.usage-${DEAD_PID}-3.journal`)) && !existsSync(join(dir, `b.db.usage-${DEAD_PID}.journal`)),
      'replayed journals are removed',
    );
    ledger.close();
    // The same rows replayed again (a crash after the insert, before the delete) are not counted twice.
    writeFileSync(join(dir, `b.db.usage-${DEAD_PID}-4.journal`), `${JSON.stringify(positional)}\n`);
    const again = new UsageLedger(db, path);
    assert.equal(again.aggregate({})[0]!.requests, 2);
    again.close();
    db.close();
  });

  it('two ledgers of one process on one database (a model server and a gateway) both record and close cleanly', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'autoglm-ledger-unit-')), 'shared.db');
    const [dbA, dbB] = [openDatabase(path), openDatabase(path)];
    const a = new UsageLedger(dbA, path);
    await Promise.all([1, 2, 3].map((i) => a.record(record(i))));
    const b = new UsageLedger(dbB, path);
    await Promise.all([4, 5].map((i) => b.record(record(i, { tenant: 'beta' }))));
    await a.record(record(6));
    a.close();
    b.close();
    assert.deepEqual(
      readdirSync(join(path, '..')).filter((f) => f.endsWith('.journal')),
      [],
      'no journal is left after both close',
    );
    const reopened = new UsageLedger(dbA, path);
    assert.equal(
      reopened
        .aggregate({ groupBy: ['tenant'] })
        .map((g) => g.requests)
        .join(','),
      '4,2',
      'every row of both is in SQLite',
    );
    reopened.close();
    dbA.close();
    dbB.close();
  });

  it('a restart replays the journals of both ledgers of a process that died', () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoglm-ledger-unit-'));
    const path = join(dir, 'd.db');
    const row = (uid: string) => JSON.stringify([uid, Date.now(), uid, 'acme', null, 'm', null, 1, 2, 0, 200, 1, 0]);
    writeFileSync(join(dir, `d.db.usage-${DEAD_PID}-0a1b2c3d-0.journal`), `${row('a0')}\n${row('a1')}\n`);
    writeFileSync(join(dir, `d.db.usage-${DEAD_PID}-0a1b2c3d-1.journal`), `${row('a2')}\n`);
    writeFileSync(join(dir, `d.db.usage-${DEAD_PID}-99887766-0.journal`), `${row('b0')}\n`);
    const db = openDatabase(path);
    const ledger = new UsageLedger(db, path);
    assert.equal(ledger.aggregate({})[0]!.requests, 4);
    ledger.close();
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.journal')),
      [],
      'replayed journals are removed',
    );
    db.close();
  });

  it('finds a call of a tenant by its request id or its answer key, in a file made before rows had answer keys too', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'autoglm-ledger-unit-')), 'old.db');
    // The usage table as files made before answer keys have it, with a row in it.
    const old = new Database(path);
    old.exec(`CREATE TABLE usage (id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, time_ms INTEGER NOT NULL, request_id TEXT NOT NULL,
      tenant TEXT NOT NULL, key_id TEXT, model TEXT NOT NULL, replica TEXT, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
      cached_tokens INTEGER NOT NULL, status INTEGER NOT NULL, latency_ms REAL NOT NULL, cache_hit INTEGER NOT NULL DEFAULT 0);
      INSERT INTO usage VALUES (1, 'u-old', ${Date.now()}, 'req-old', 'acme', NULL, 'm', NULL, 1, 2, 0, 200, 1, 0);`);
    old.close();
    const db = openDatabase(path);
    const ledger = new UsageLedger(db, path);
    await ledger.record(record(1, { answerKey: 'key-1' }));
    await ledger.record(record(2, { tenant: 'beta', answerKey: 'key-2' }));
    const since = Date.now() - 60_000;
    assert.deepEqual(ledger.answered('acme', 'req-1', 'request', since), { requestId: 'req-1', answerKey: 'key-1' });
    assert.deepEqual(ledger.answered('acme', 'key-1', 'answer', since), { requestId: 'req-1', answerKey: 'key-1' });
    assert.deepEqual(ledger.answered('acme', 'req-old', 'request', since), { requestId: 'req-old' }, 'the older row is found by its request id');
    assert.equal(ledger.answered('acme', 'key-2', 'answer', since), undefined, "another tenant's answer is not found");
    assert.equal(ledger.answered('acme', 'req-1', 'request', Date.now() + 60_000), undefined, 'a call older than the window is not found');
    // The lookups as the ledger makes them, bounded by time and newest first: each by its own index, not by a scan of
    // the tenant's rows (which usage_tenant_time would be).
    for (const [column, index] of [
      ['request_id', 'usage_tenant_request_time'],
      ['answer_key', 'usage_tenant_answer_time'],
    ]) {
      const plan = db
        .prepare(
          `EXPLAIN QUERY PLAN SELECT request_id, answer_key FROM usage WHERE tenant = ? AND ${column} = ? AND time_ms >= ? ORDER BY time_ms DESC LIMIT 1`,
        )
        .all('acme', 'x', 0) as { detail: string }[];
      assert.match(plan.map((p) => p.detail).join(' '), new RegExp(`USING INDEX ${index}`), `${column}: ${JSON.stringify(plan)}`);
    }
    ledger.close();
    db.close();
  });
});
