// `autoglm tune` when there is nothing to find: a model that cannot load, and an objective no trial can meet. Either
// way the run says why, exits 1 and writes no best settings.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseParam } from '../../src/tune/index.js';
import { runCli } from '../support/processes.js';
import { modelMirror } from '../support/server.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-tune-'));

describe('autoglm tune refuses to name a best it did not find', () => {
  const refused = (run: ReturnType<typeof runCli>) =>
    run
      .err()
      .split('\n')
      .filter((l) => l.startsWith('autoglm: error: '));

  it("a model that cannot load stops the run with the server's own error, exits 1 and writes no best settings", async () => {
    const out = join(dir, 'nope-best.yaml');
    const run = runCli(['tune', '--model', 'no-such-model', '--budget', '3', '--out', out], { ...process.env, AUTOGLM_MODEL_MIRROR: modelMirror });
    assert.equal(await run.exited, 1, run.err());
    assert.deepEqual(refused(run).length, 1, run.err());
    assert.match(refused(run)[0]!, /the server for \w+=\S+.* did not start: model 'no-such-model' not found/);
    assert.doesNotMatch(run.out(), /best:|within 5%/);
    assert.ok(!existsSync(out), 'no best.yaml');
  });

  it('no feasible trial exits 1 with the closest TTFT and writes no best settings', async () => {
    const out = join(dir, 'infeasible-best.yaml');
    const run = runCli(
      [
        'tune',
        '--param',
        'parallel=int:1:2',
        '--budget',
        '1',
        '--requests',
        '4',
        '--concurrency',
        '2',
        '--output-tokens',
        '8',
        '--trial-seconds',
        '3',
        '--slo-ttft-ms',
        '0.001',
        '--out',
        out,
      ],
      { ...process.env, AUTOGLM_MODEL_MIRROR: modelMirror },
    );
    assert.equal(await run.exited, 1, run.err());
    assert.match(run.out(), /^\s+1\s+parallel=\d.*infeasible/m, 'the trial is still shown');
    assert.match(
      refused(run)[0] ?? '',
      /no trial met the objective \(p99 TTFT <= 0\.001 ms, with tokens generated\); the lowest TTFT p99 was \d+ ms; no best settings, .*infeasible-best\.yaml not written/,
    );
    assert.doesNotMatch(run.out(), /best:/);
    assert.ok(!existsSync(out), 'no best.yaml');
  });

  describe('a --state file', () => {
    const trial = (n: number, parallel: number, tps: number) => ({
      n,
      point: { parallel },
      metrics: { outputTokensPerS: tps, ttftP99Ms: 100, e2eP50Ms: 200, errors: 0 },
      score: tps,
      feasible: true,
      seconds: 1,
    });
    const state = (seed: number) =>
      JSON.stringify({
        space: [parseParam('parallel=int:1:2')],
        objective: { ttftP99Ms: 1000 },
        seed,
        trials: { tpe: [trial(1, 1, 50), trial(2, 2, 100)], random: [trial(1, 1, 50), trial(2, 1, 60)] },
      });
    const tuneWith = (file: string) =>
      runCli(['tune', '--param', 'parallel=int:1:2', '--budget', '2', '--methods', 'tpe,random', '--state', file], {
        ...process.env,
        AUTOGLM_MODEL_MIRROR: modelMirror,
      });

    it('that is not a tune state, or of another seed, is refused by name and left as it was', async () => {
      const cases = [
        ['notes.txt', 'not json at all', /notes\.txt is not a state written by `autoglm tune --state`/],
        ['eval.json', JSON.stringify({ strategies: [{ accuracy: 0.5 }] }), /eval\.json is not a state written by `autoglm tune --state`/],
        ['other-seed.json', state(7), /other-seed\.json holds trials of another seed, so this run cannot resume them; pass --fresh/],
      ] as const;
      await Promise.all(
        cases.map(async ([name, text, expected]) => {
          const file = join(dir, name);
          writeFileSync(file, text);
          const run = tuneWith(file);
          assert.equal(await run.exited, 1, run.err());
          assert.equal(refused(run).length, 1, run.err());
          assert.match(refused(run)[0]!, expected);
          assert.equal(readFileSync(file, 'utf8'), text, `${name} is unchanged`);
        }),
      );
    });

    it('of this search resumes, and a method that never came close says so in words', async () => {
      const file = join(dir, 'done.json');
      writeFileSync(file, state(1));
      const run = tuneWith(file);
      assert.equal(await run.exited, 0, run.err());
      assert.match(run.out(), /best: parallel=2 -> 100 tok\/s/);
      assert.match(run.out(), /^\s+tpe\s+within 5% of the best after 2 trials$/m);
      assert.match(run.out(), /^\s+random\s+did not come within 5% of the best in its 2 trials$/m);
      assert.doesNotMatch(run.out(), /never/);
    });
  });
});
