// Prompt versions rolled out like model versions: a sticky weighted split, and an SLO watch that takes a canary
// version out when its errors or its feedback breach.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { promptsConfigSchema, type PromptSlo } from '../../src/config/index.js';
import { accuracyBreach, PromptCatalog, PromptWatch, splitVersion } from '../../src/prompts/index.js';

const slo = (over: Partial<PromptSlo> = {}): PromptSlo => promptsConfigSchema.parse({ p: { versions: { '1': {} }, slo: over } }).p!.slo!;

class FakeClock {
  t = 0;
  now = () => this.t;
  sleep = async () => undefined;
}

describe('a weighted split of prompt versions', () => {
  it('gives each version its weight of callers, and a caller the same version every time', () => {
    const counts = new Map<number, number>();
    for (let i = 0; i < 20_000; i++) {
      const v = splitVersion({ '2': 70, '3': 20, '4': 10 }, `user-${i}`);
      counts.set(v, (counts.get(v) ?? 0) + 1);
      if (i < 200) assert.equal(splitVersion({ '2': 70, '3': 20, '4': 10 }, `user-${i}`), v, 'sticky');
    }
    assert.ok(Math.abs(counts.get(2)! / 20_000 - 0.7) < 0.02, `v2 ${counts.get(2)}`);
    assert.ok(Math.abs(counts.get(3)! / 20_000 - 0.2) < 0.02, `v3 ${counts.get(3)}`);
    assert.ok(Math.abs(counts.get(4)! / 20_000 - 0.1) < 0.02, `v4 ${counts.get(4)}`);
  });

  it('keeps a stable caller where it was when the canary grows', () => {
    for (let i = 0; i < 2000; i++) {
      const key = `s-${i}`;
      if (splitVersion({ '1': 95, '2': 5 }, key) === 2) assert.equal(splitVersion({ '1': 50, '2': 50 }, key), 2, key);
    }
  });
});

describe('the accuracy rule', () => {
  const rules = slo({ minRequests: 10, minAccuracy: 0.5, accuracyMargin: 0.05 });
  const table: [string, Parameters<typeof accuracyBreach>[0], Parameters<typeof accuracyBreach>[1], string | undefined][] = [
    ['too few scores say nothing', { count: 5, mean: 0 }, { count: 50, mean: 0.9 }, undefined],
    ['under the absolute floor', { count: 20, mean: 0.4 }, undefined, 'absolute'],
    ['more than the margin under stable', { count: 20, mean: 0.7 }, { count: 20, mean: 0.8 }, 'stable'],
    ['within the margin of stable', { count: 20, mean: 0.77 }, { count: 20, mean: 0.8 }, undefined],
    ['stable with too few scores is not compared', { count: 20, mean: 0.6 }, { count: 3, mean: 0.9 }, undefined],
  ];
  for (const [name, canary, stable, against] of table) it(name, () => assert.equal(accuracyBreach(canary, stable, rules)?.against, against));
});

describe('the SLO watch of a split', () => {
  it('takes the canary out of the split after its feedback breaches for the windows the rules ask', () => {
    const clock = new FakeClock();
    const prompts = promptsConfigSchema.parse({
      p: {
        versions: { '1': { instructions: 'a' }, '2': { instructions: 'b' } },
        split: { '1': 50, '2': 50 },
        slo: { windowSeconds: 10, minRequests: 5, accuracyWindows: 2, accuracyMargin: 0.1 },
      },
    });
    const catalog = new PromptCatalog(':memory:', { prompts, clock });
    const servedBy = new Map<number, number>();
    const window = (n: number) => {
      for (let i = 0; i < 40; i++) {
        const id = `w${n}-${i}`;
        const r = catalog.resolve('t', { name: 'p' }, id);
        servedBy.set(r.template.version, (servedBy.get(r.template.version) ?? 0) + 1);
        catalog.served({ requestId: id, tenant: 't', prompt: 'p', version: r.template.version, scope: r.scope });
        catalog.outcome(r, { ok: true, latencyMs: 5 });
        catalog.feedback('t', { requestId: id }, r.template.version === 1 ? 1 : 0);
      }
      clock.t += 10_001;
    };
    window(1);
    window(2);
    assert.ok((servedBy.get(2) ?? 0) > 0, 'the canary served before its rollback');
    window(3);
    assert.deepEqual(
      catalog.armsReport('t', 'p', 60_000)!.rolled_back.map((r) => r.version),
      [2],
    );
    servedBy.clear();
    window(4);
    assert.deepEqual([...servedBy.keys()], [1], 'every caller gets stable once the canary is rolled back');
    catalog.close();
  });

  it('rolls back on the error rate too, through the releases rules', () => {
    const clock = new FakeClock();
    const watch = new PromptWatch(slo({ windowSeconds: 1, minRequests: 5, errorWindows: 2 }), 1, clock);
    for (let w = 0; w < 3; w++) {
      for (let i = 0; i < 10; i++) {
        watch.record(1, { ok: true, latencyMs: 1 });
        watch.record(2, { ok: i > 4, latencyMs: 1 });
      }
      clock.t += 1001;
    }
    watch.roll();
    assert.equal(watch.isRolledBack(2), true);
    assert.match(watch.rolledBack[0]!.reason, /error rate/);
  });
});
