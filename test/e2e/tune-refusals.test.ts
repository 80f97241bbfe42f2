// `autoglm tune` when there is nothing to find: a model that cannot load, and an objective no trial can meet. Either
// way the run says why, exits 1 and writes no best settings.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
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
});
