// Stored responses in real SQLite: per tenant, bounded by age (an injected clock) and by count, oldest first.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase, ResponseStore } from '../../src/tenancy/index.js';

const DAY = 86_400_000;
const stored = (text: string) => ({ response: JSON.stringify({ text }), input: '[]' });

function storeAt(options: { ttlMs?: number; maxStored?: number } = {}) {
  let now = Date.UTC(2026, 0, 1);
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'autoglm-responses-')), 'r.db'));
  const store = new ResponseStore(db, { ttlMs: options.ttlMs ?? 30 * DAY, maxStored: options.maxStored ?? 1000, now: () => now });
  return { db, store, advance: (ms: number) => (now += ms) };
}

describe('response store', () => {
  it('a response is read back by its tenant only, and is readable as soon as it was put', () => {
    const { store, db } = storeAt();
    store.put('acme', 'resp_1', stored('hello'));
    assert.deepEqual(store.get('acme', 'resp_1'), stored('hello'), 'read back before the write was flushed');
    assert.equal(store.get('beta', 'resp_1'), undefined, "another tenant's id is not found");
    assert.equal(store.delete('beta', 'resp_1'), false, 'another tenant cannot delete it');
    assert.ok(store.get('acme', 'resp_1'), 'still there after the foreign delete');
    assert.equal(store.delete('acme', 'resp_1'), true);
    assert.equal(store.get('acme', 'resp_1'), undefined, 'gone once deleted');
    db.close();
  });

  it('writes a response to the file on its own shortly after, for other processes sharing it, and at close', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'autoglm-responses-')), 'r.db');
    const db = openDatabase(path);
    const store = new ResponseStore(db, { ttlMs: DAY, maxStored: 10 });
    const other = openDatabase(path);
    const seen = () => (other.prepare('SELECT COUNT(*) AS n FROM responses').get() as { n: number }).n;
    store.put('acme', 'resp_1', stored('a'));
    const deadline = Date.now() + 20_000;
    while (seen() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen(), 1, 'another connection reads it without this store being asked');
    store.put('acme', 'resp_2', stored('b'));
    store.flush();
    assert.equal(seen(), 2, 'flushing (as closing the tenancy does) writes what is pending');
    other.close();
    db.close();
  });

  it('expires responses after the TTL: unreadable at once, and swept from the file', () => {
    const { store, db, advance } = storeAt({ ttlMs: 2 * DAY });
    store.put('acme', 'resp_old', stored('old'));
    store.flush();
    advance(DAY);
    assert.ok(store.get('acme', 'resp_old'), 'readable within its TTL');
    advance(DAY + 1);
    assert.equal(store.get('acme', 'resp_old'), undefined, 'unreadable past its TTL');
    // The sweep runs on a write at most once a minute.
    advance(61_000);
    store.put('acme', 'resp_new', stored('new'));
    store.flush();
    const ids = (db.prepare('SELECT id FROM responses').all() as { id: string }[]).map((r) => r.id);
    assert.deepEqual(ids, ['resp_new'], 'the expired row left the file');
    db.close();
  });

  it('keeps at most maxStored responses, deleting the oldest first', () => {
    const { store, db, advance } = storeAt({ maxStored: 3 });
    for (let i = 1; i <= 5; i++) {
      store.put(i % 2 ? 'acme' : 'beta', `resp_${i}`, stored(`n${i}`));
      advance(1000);
      store.flush();
    }
    const ids = (db.prepare('SELECT id FROM responses ORDER BY created_ms').all() as { id: string }[]).map((r) => r.id);
    assert.deepEqual(ids, ['resp_3', 'resp_4', 'resp_5']);
    assert.equal(store.get('acme', 'resp_1'), undefined, 'the oldest is gone');
    assert.ok(store.get('acme', 'resp_5'), 'the newest is kept');
    db.close();
  });

  it('at its bound, keeps the newest within 1% of it, deleting the oldest in batches rather than at every write', () => {
    const { store, db, advance } = storeAt({ maxStored: 200 });
    const count = () => (db.prepare('SELECT COUNT(*) AS n FROM responses').get() as { n: number }).n;
    const counts: number[] = [];
    for (let i = 1; i <= 1000; i++) {
      store.put('acme', `resp_${i}`, stored(`n${i}`));
      advance(10);
      store.flush();
      if (i > 200) counts.push(count());
    }
    assert.ok(
      counts.every((n) => n >= 198 && n <= 200),
      `between 198 and 200 rows: ${Math.min(...counts)} to ${Math.max(...counts)}`,
    );
    assert.ok(store.get('acme', 'resp_1000'), 'the newest is kept');
    assert.equal(store.get('acme', 'resp_700'), undefined, 'the oldest went');
    // A delete makes room for the next two writes: one delete per three writes at this bound, not one per write.
    const deletes = counts.filter((n, k) => k > 0 && n < counts[k - 1]!).length;
    assert.ok(deletes <= 800 / 3 + 1, `${deletes} deletes for 800 writes past the bound`);
    db.close();
  });

  it('holds the bound on a file two processes write: each counts the file again when it sweeps', () => {
    let now = Date.UTC(2026, 0, 1);
    const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'autoglm-responses-')), 'r.db'));
    const options = { ttlMs: 30 * DAY, maxStored: 4, now: () => now };
    const store = new ResponseStore(db, options);
    const other = new ResponseStore(db, options);
    store.put('acme', 'resp_a', stored('a'));
    store.flush();
    now += 1000;
    for (const id of ['resp_b', 'resp_c', 'resp_d']) other.put('acme', id, stored(id));
    other.flush();
    // `store` still counts one row of its own; its next sweep (a minute on) learns of the other three.
    now += 61_000;
    store.put('acme', 'resp_e', stored('e'));
    store.flush();
    const n = (db.prepare('SELECT COUNT(*) AS n FROM responses').get() as { n: number }).n;
    assert.equal(n, 4, 'the bound holds across both writers');
    assert.equal(store.get('acme', 'resp_a'), undefined, 'the oldest went');
    db.close();
  });
});
