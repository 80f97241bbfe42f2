// Tallied metrics show on a scrape what was counted, once (reads in a row do not count it again), as prom-client's own would.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { TalliedCounter, TalliedHistogram } from '../../src/observability/tallied-metrics.js';

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

describe('TalliedHistogram', () => {
  const buckets = [0.005, 0.01, 0.1, 1, 10];
  /** The exposition of one histogram's series, its name taken out, so prom-client's own can be compared with it. */
  const exposition = async (registry: Registry, name: string) =>
    (await registry.metrics())
      .split('\n')
      .filter((l) => l.startsWith(`${name}_`))
      .map((l) => l.slice(name.length));

  it('exposes the same buckets, sum and count as prom-client fed the same values, once', async () => {
    const registry = new Registry();
    const tallied = new TalliedHistogram({ name: 't', help: 'h', labelNames: ['model', 'outcome'] as const, buckets, registers: [registry] });
    const plain = new Histogram({ name: 'p', help: 'h', labelNames: ['model', 'outcome'] as const, buckets, registers: [registry] });
    const values = [0, 0.005, 0.0051, 0.07, 0.1, 3, 10, 11, 250];
    const ok = tallied.tally('a', 'ok');
    assert.equal(tallied.tally('a', 'ok'), ok, 'the same values give the same series');
    for (const v of values) {
      ok.observe(v);
      plain.observe({ model: 'a', outcome: 'ok' }, v);
    }
    tallied.tally('b', 'error').observe(0.02);
    plain.observe({ model: 'b', outcome: 'error' }, 0.02);
    tallied.tally('c', 'abort');
    const first = await exposition(registry, 't');
    assert.deepEqual(first, await exposition(registry, 'p'));
    assert.ok(first.includes('_bucket{le="0.005",model="a",outcome="ok"} 2'), first.join('\n'));
    assert.ok(first.includes('_bucket{le="+Inf",model="a",outcome="ok"} 9'), first.join('\n'));
    assert.ok(!first.some((l) => l.includes('model="c"')), 'a series that observed nothing is not shown');
    assert.deepEqual(await exposition(registry, 't'), first, 'a second read adds nothing again');

    ok.observe(0.5);
    plain.observe({ model: 'a', outcome: 'ok' }, 0.5);
    tallied.observe({ model: 'a', outcome: 'ok' }, 0.5);
    plain.observe({ model: 'a', outcome: 'ok' }, 0.5);
    assert.deepEqual(await exposition(registry, 't'), await exposition(registry, 'p'), "prom-client's own observe adds to the same series");

    tallied.reset();
    ok.observe(2);
    assert.deepEqual(await exposition(registry, 't'), [
      '_bucket{le="0.005",model="a",outcome="ok"} 0',
      '_bucket{le="0.01",model="a",outcome="ok"} 0',
      '_bucket{le="0.1",model="a",outcome="ok"} 0',
      '_bucket{le="1",model="a",outcome="ok"} 0',
      '_bucket{le="10",model="a",outcome="ok"} 1',
      '_bucket{le="+Inf",model="a",outcome="ok"} 1',
      '_sum{model="a",outcome="ok"} 2',
      '_count{model="a",outcome="ok"} 1',
    ]);
  });

  it('refuses a value that is not a number, as prom-client does', () => {
    const h = new TalliedHistogram({ name: 'n', help: 'h', labelNames: ['model'] as const, buckets, registers: [] });
    assert.throws(() => h.tally('a').observe(Number.NaN), TypeError);
  });
});
