// `autoglm eval --config` as a user runs it: a wrong model name, calls that all fail, and a config with a replica that
// cannot load beside the one evaluated.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../support/processes.js';
import { modelMirror } from '../support/server.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-eval-'));
const config = join(dir, 'gateway.yaml');
writeFileSync(
  config,
  `
database: ':memory:'
models:
  solver:
    replicas:
      - { type: sim, preset: instant, solver: { dataset: gsm8k, p: 1 } }
  failing:
    retry: { attempts: 1 }
    replicas:
      - { type: sim, preset: instant, faults: { errorRate: 1 } }
  llama:
    replicas:
      - { type: llama, model: no-such-model }
`,
);

const evalCli = (args: string[]) => runCli(['eval', '--config', config, '--dataset', 'gsm8k', ...args], { ...process.env, AUTOGLM_MODEL_MIRROR: modelMirror });
const errors = (err: string) => err.split('\n').filter((l) => l.startsWith('autoglm: error: '));

describe('autoglm eval --config', () => {
  it('a model the config does not have is refused at once, naming the ones it has', async () => {
    const run = evalCli(['--model', 'chat', '--limit', '5', '--strategies', 'direct']);
    assert.equal(await run.exited, 1, run.err());
    assert.deepEqual(errors(run.err()), [`autoglm: error: no model 'chat' in ${config}; its models are solver, failing, llama`]);
    assert.doesNotMatch(run.out(), /accuracy/);
  });

  it('calls that all fail stop the run with their error and exit 1, rather than a 0% table', async () => {
    const run = evalCli(['--model', 'failing', '--limit', '100', '--concurrency', '1', '--strategies', 'direct']);
    assert.equal(await run.exited, 1, run.err());
    assert.deepEqual(errors(run.err()), ['autoglm: error: direct: the first 3 calls failed: Simulated upstream failure.']);
    assert.doesNotMatch(run.out(), /0\.0%/);
  });

  it('loads only the model evaluated: a llama replica that cannot load elsewhere in the file does not stop it', async () => {
    const run = evalCli(['--model', 'solver', '--limit', '5', '--strategies', 'direct,sc@3']);
    assert.equal(await run.exited, 0, run.err());
    assert.match(run.out(), /^gsm8k, 5 items, solver from /m);
    assert.match(run.out(), /^direct\s+100\.0%/m);
    // Not a terminal here: one line per strategy with the real total, no template left unfilled.
    assert.match(run.err(), /^direct {3}5\/5 items in [\d.]+ s$/m);
    assert.match(run.err(), /^sc@3 {5}5\/5 items in [\d.]+ s$/m);
    assert.doesNotMatch(run.err(), /\{strategy\}|\/100 items/);
  });
});
