// The prompt store's record of what served each request: kept for the feedback window, then swept.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { PromptStore } from '../../src/prompts/index.js';

describe('the record of what served a request', () => {
  it('answers for a request inside the feedback window and forgets one past it', () => {
    let t = 1_000_000;
    const store = new PromptStore(':memory:', 10_000, () => t);
    store.served({ requestId: 'old', tenant: 'acme', prompt: 'p', version: 1, scope: 'global' });
    store.flush();
    assert.equal(store.servedBy('acme', 'old')?.version, 1);
    assert.equal(store.servedBy('beta', 'old'), undefined, 'another tenant does not see it');
    t += 70_000;
    store.served({ requestId: 'new', tenant: 'acme' });
    store.flush();
    assert.equal(store.servedBy('acme', 'old'), undefined, 'past the window');
    assert.deepEqual(store.servedBy('acme', 'new'), { requestId: 'new', tenant: 'acme' });
    store.close();
  });

  it('sweeps by an index, not by reading every row of the week it keeps', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'autoglm-prompt-store-')), 'sweep.db');
    new PromptStore(path).close();
    const db = new Database(path, { readonly: true });
    const plan = db.prepare('EXPLAIN QUERY PLAN DELETE FROM prompt_served WHERE time_ms < ?').all(0) as { detail: string }[];
    db.close();
    assert.match(plan.map((p) => p.detail).join('; '), /USING (COVERING )?INDEX prompt_served_time/);
  });

  it('sweeps rows past the window when it opens, though nothing is written after', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'autoglm-prompt-store-')), 'open.db');
    let t = 1_000_000;
    const first = new PromptStore(path, 10_000, () => t);
    first.served({ requestId: 'old', tenant: 'acme' });
    first.close();
    t += 70_000;
    new PromptStore(path, 10_000, () => t).close();
    const db = new Database(path, { readonly: true });
    const left = (db.prepare('SELECT COUNT(*) AS n FROM prompt_served').get() as { n: number }).n;
    db.close();
    assert.equal(left, 0, 'the row past the window is gone');
  });

  it("finds a request by its answer's key, also in a file written before answers had keys", () => {
    const path = join(mkdtempSync(join(tmpdir(), 'autoglm-prompt-store-')), 'old.db');
    const old = new Database(path);
    old.exec(
      'CREATE TABLE prompt_served (request_id TEXT NOT NULL, tenant TEXT NOT NULL, prompt TEXT, version INTEGER, scope TEXT, time_ms INTEGER NOT NULL, PRIMARY KEY (tenant, request_id))',
    );
    old.prepare('INSERT INTO prompt_served VALUES (?, ?, ?, ?, ?, ?)').run('req_before', 'acme', 'p', 1, 'global', Date.now());
    old.close();
    const store = new PromptStore(path);
    assert.equal(store.servedBy('acme', 'req_before')?.version, 1, 'what the older file held is still found by request id');
    store.served({ requestId: 'req_after', answerKey: 'k1', tenant: 'acme', prompt: 'p', version: 2, scope: 'global' });
    assert.deepEqual(store.servedBy('acme', 'k1', 'answer'), {
      requestId: 'req_after',
      answerKey: 'k1',
      tenant: 'acme',
      prompt: 'p',
      version: 2,
      scope: 'global',
    });
    assert.equal(store.servedBy('beta', 'k1', 'answer'), undefined, 'another tenant does not see it');
    store.close();
  });

  it('counts each version per time bucket: requests within one bucket are one point', () => {
    let t = 1_000_000;
    const store = new PromptStore(':memory:', 600_000, () => t);
    for (const [dt, version] of [
      [0, 1],
      [1_000, 2],
      [2_500, 1],
      [10_000, 1],
      [12_000, 2],
    ] as const) {
      t = 1_000_000 + dt;
      store.served({ requestId: `r${dt}`, tenant: 'acme', prompt: 'p', version, scope: 'global' });
      store.flush();
    }
    const points = store.arms('global', 'p', 10_000).map((p) => [p.bucketMs, p.version, p.served]);
    assert.deepEqual(points, [
      [1_000_000, 1, 2],
      [1_000_000, 2, 1],
      [1_010_000, 1, 1],
      [1_010_000, 2, 1],
    ]);
    store.close();
  });
});
