// A tallied counter shows on a scrape what was counted, once: reads in a row do not count it again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { TalliedCounter } from '../../src/observability/metrics.js';

const series = async (registry: Registry) =>
  (await registry.metrics())
    .split('\n')
    .filter((l) => l.startsWith('c_total{'))
    .sort();

describe('TalliedCounter', () => {
  it('adds what each series counted between scrapes, and keeps a series counted by 0 at 0', async () => {
    const registry = new Registry();
    const counter = new TalliedCounter({ name: 'c_total', help: 'h', labelNames: ['route', 'status'] as const, registers: [registry] });
    const ok = counter.tally('/a', '200');
    assert.equal(counter.tally('/a', '200'), ok, 'the same values give the same series');
    ok.inc();
    ok.inc(2);
    counter.tally('/b', '500').inc(0);
    counter.tally('/c', '404');
    assert.deepEqual(await series(registry), ['c_total{route="/a",status="200"} 3', 'c_total{route="/b",status="500"} 0']);
    assert.deepEqual(
      await series(registry),
      ['c_total{route="/a",status="200"} 3', 'c_total{route="/b",status="500"} 0'],
      'a second read counts nothing again',
    );
    ok.inc();
    counter.inc({ route: '/a', status: '200' }, 10);
    assert.deepEqual((await counter.get()).values.map((v) => [v.labels.route, v.value]).sort(), [
      ['/a', 14],
      ['/b', 0],
    ]);
  });
});
