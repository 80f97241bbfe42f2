// How much memory --mlock may lock, read as the kernel reports it: the soft limit, unless CAP_IPC_LOCK lifts it.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { lockableBytes } from '../../src/engines/llama/memory-lock.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-mlock-'));
function files(limit: string, capEff: string): [string, string] {
  const limits = join(dir, `limits-${limit}-${capEff}`);
  const status = join(dir, `status-${limit}-${capEff}`);
  writeFileSync(
    limits,
    `Limit                     Soft Limit           Hard Limit           Units\nMax locked memory         ${limit}              ${limit}              bytes\n`,
  );
  writeFileSync(status, `Name:\tnode\nCapEff:\t${capEff}\n`);
  return [limits, status];
}

describe('lockableBytes', () => {
  it('is the soft limit of a process without CAP_IPC_LOCK', () => {
    assert.equal(lockableBytes(...files('65536', '0000000000000000')), 65536);
  });
  it('is unbounded with CAP_IPC_LOCK, or an unlimited limit', () => {
    assert.equal(lockableBytes(...files('65536', '0000000000004000')), undefined);
    assert.equal(lockableBytes(...files('unlimited', '0000000000000000')), undefined);
  });
  it('is unknown where the kernel does not say', () => {
    assert.equal(lockableBytes(join(dir, 'missing'), join(dir, 'missing')), undefined);
  });
});
