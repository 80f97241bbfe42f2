// The tuner's parts as pure functions: search spaces, grids, TPE against random search on functions with a known
// optimum, resuming from a state file, and the workload's arrivals.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/core/index.js';
import { arrivals, workload } from '../../src/loadgen/index.js';
import { gridPoints, parseParam, randomPoint, suggestTpe, trialsToReach, tune, type Point } from '../../src/tune/index.js';

describe('search space', () => {
  it('parses integer, log-uniform and categorical parameters and refuses bad ones', () => {
    assert.deepEqual(parseParam('threads=int:1:4'), { name: 'threads', kind: 'int', min: 1, max: 4 });
    assert.deepEqual(parseParam('batchSize=logint:32:2048'), { name: 'batchSize', kind: 'log', min: 32, max: 2048, integer: true });
    assert.deepEqual(parseParam('quantize=cat:none,q8_0'), { name: 'quantize', kind: 'cat', values: ['none', 'q8_0'] });
    assert.throws(() => parseParam('threads=int:4:1'), /bad range/);
    assert.throws(() => parseParam('threads'), /bad parameter/);
  });

  it('lays a grid within the budget, covering each axis end to end', () => {
    const space = [parseParam('a=int:1:8'), parseParam('b=cat:x,y')];
    const grid = gridPoints(space, 6);
    assert.equal(grid.length, 6);
    assert.deepEqual(grid[0], { a: 1, b: 'x' });
    const random = seededRandom(1);
    for (let i = 0; i < 100; i++) {
      const p = randomPoint([parseParam('r=logint:16:1024')], random);
      assert.ok(
        (p.r as number) >= 16 && (p.r as number) <= 1024 && Number.isInteger(p.r),
        '(p.r as number) >= 16 && (p.r as number) <= 1024 && Number.isInteger(p.r)',
      );
    }
  });
});

describe('TPE', () => {
  // A landscape like serving settings: one parameter decides almost everything (threads), others shape the rest.
  const space = [parseParam('x=int:1:16'), parseParam('y=log:1:1000'), parseParam('z=cat:a,b,c,d')];
  const score = (p: Point) => 100 - 4 * Math.abs((p.x as number) - 11) - 10 * Math.abs(Math.log10(p.y as number) - 2) + (p.z === 'c' ? 15 : 0);

  it('reaches 95% of the optimum in fewer trials than random search, over many seeds', async () => {
    const budget = 30;
    const reach = async (method: 'tpe' | 'random', seed: number) => {
      const results = await tune({
        space,
        objective: { ttftP99Ms: Infinity },
        budget,
        methods: [method],
        seed,
        evaluate: async (p) => ({ outputTokensPerS: Math.max(0.001, score(p)), ttftP99Ms: 0, e2eP50Ms: 0, errors: 0 }),
      });
      return trialsToReach(results[method]!, 115) ?? budget + 1;
    };
    let tpe = 0;
    let random = 0;
    for (let seed = 1; seed <= 12; seed++) {
      tpe += await reach('tpe', seed);
      random += await reach('random', seed);
    }
    assert.ok(tpe < random, `mean trials to 95%: tpe ${tpe / 12}, random ${random / 12}`);
  });

  it('proposes a new point rather than one already measured', () => {
    const history = Array.from({ length: 8 }, (_, i) => ({ point: { x: 11, y: 100, z: 'c' } as Point, score: 100 - i }));
    const next = suggestTpe(space, history, seededRandom(3));
    assert.notDeepEqual(next, { x: 11, y: 100, z: 'c' });
  });

  it('resumes from its state file without repeating trials', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'autoglm-tune-')), 'state.json');
    let calls = 0;
    const evaluate = async (p: Point) => {
      calls++;
      return { outputTokensPerS: score(p), ttftP99Ms: 0, e2eP50Ms: 0, errors: 0 };
    };
    const first = await tune({ space, objective: { ttftP99Ms: 1 }, budget: 5, methods: ['tpe'], seed: 9, statePath: state, evaluate });
    const again = await tune({ space, objective: { ttftP99Ms: 1 }, budget: 7, methods: ['tpe'], seed: 9, statePath: state, evaluate });
    assert.equal(calls, 7, 'five trials, then two more');
    assert.deepEqual(
      again.tpe!.slice(0, 5).map((t) => t.point),
      first.tpe!.map((t) => t.point),
    );
  });
});

describe('workload', () => {
  it('sends Poisson arrivals at the asked rate, and reproducible prompts with shared prefixes', () => {
    const times = arrivals(50, 2000, 'poisson', 1);
    const rate = (times.length - 1) / (times[times.length - 1]! / 1000);
    assert.ok(Math.abs(rate - 50) < 4, `rate ${rate}`);
    assert.deepEqual(arrivals(10, 3, 'constant', 1), [0, 100, 200]);
    const prompts = workload({ inputTokens: 20, outputTokens: 8, sharedPrefixTokens: 30, prefixGroups: 2, seed: 4 });
    assert.equal(prompts(0).messages[0]!.content, prompts(2).messages[0]!.content, 'same group, same prefix');
    assert.notEqual(prompts(0).messages[0]!.content, prompts(1).messages[0]!.content);
    assert.equal(prompts(5).messages[1]!.content.split(' ').length, 20);
    assert.deepEqual(prompts(7), workload({ inputTokens: 20, outputTokens: 8, sharedPrefixTokens: 30, prefixGroups: 2, seed: 4 })(7));
  });
});
