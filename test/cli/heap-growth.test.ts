// `serve` bounds how much garbage the JS heap may hold: the old generation's peak under churn, with and without it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

const heapGrowth = import.meta.resolve('../../src/cli/heap-growth.ts');

/**
 * A node process that keeps about 20 MB live while objects that outlive a few scavenges come and go (as a relay's
 * in-flight chunks do), and prints the largest old generation it reached and whether the bound was set.
 */
function churn(nodeArgs: string[], bound: boolean): { peakOldMb: number; set: boolean | null } {
  const script = `
    import v8 from 'node:v8';
    const { boundHeapGrowth } = await import(${JSON.stringify(heapGrowth)});
    const set = ${bound} ? boundHeapGrowth() : null;
    const live = Array.from({ length: 200_000 }, (_, i) => ({ i, s: 'live ' + i }));
    const window = [];
    let peak = 0;
    for (let round = 0; round < 400; round++) {
      window.push(Array.from({ length: 5000 }, (_, i) => ({ round, i, s: 'in flight ' + round + ' ' + i })));
      if (window.length > 20) window.shift();
      peak = Math.max(peak, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size);
    }
    console.log(JSON.stringify({ peakOldMb: peak / 1048576, set, live: live.length }));`;
  const run = spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as { peakOldMb: number; set: boolean | null };
}

describe('heap growth bound', () => {
  it('keeps the old generation near what is live, where V8 alone lets garbage pile up to several times it', () => {
    // The loose baseline is set, not V8's own, which depends on the machine's memory (in a small container it is ~2x).
    const free = churn(['--heap-growing-percent=300'], false);
    const bounded = churn([], true);
    assert.equal(bounded.set, true);
    assert.ok(
      bounded.peakOldMb < free.peakOldMb * 0.75,
      `old generation peaked at ${bounded.peakOldMb.toFixed(0)} MB bounded, ${free.peakOldMb.toFixed(0)} MB not`,
    );
  });

  it('leaves a growth factor given to node alone', () => {
    const own = churn(['--heap-growing-percent=300'], true);
    assert.equal(own.set, false);
    const bounded = churn([], true);
    assert.ok(
      bounded.peakOldMb < own.peakOldMb * 0.75,
      `old generation peaked at ${bounded.peakOldMb.toFixed(0)} MB bounded, ${own.peakOldMb.toFixed(0)} MB with node's own flag`,
    );
  });
});
