// `autoglm optimize` as a user runs it: on the prompt-sensitive simulator, and end to end on the real embedded
// engine (which scores about nothing, but the path must complete and write a prompt the gateway loads).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseGatewayConfig, promptsConfigSchema } from '../../src/config/index.js';
import { runCli } from '../support/processes.js';
import { storiesPath } from '../support/server.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-optimize-cli-'));

describe('autoglm optimize', () => {
  it('optimizes for the prompt-sensitive simulator, reports the test split against the baseline, and writes a loadable prompt', async () => {
    const out = join(dir, 'sim-prompts.yaml');
    const args = [
      'optimize',
      '--sim-solver',
      '0.3',
      '--train',
      '20',
      '--dev',
      '45',
      '--test',
      '60',
      '--budget',
      '8',
      '--out',
      out,
      '--state',
      join(dir, 'sim.json'),
    ];
    const cli = runCli(args);
    assert.equal(await cli.exited, 0, cli.err());
    assert.match(cli.out(), /held-out test split, 60 items/);
    assert.match(cli.out(), /^best\s+\d+\.\d%\s+\d+\.\d%-\d+\.\d%/m);
    assert.match(cli.out(), /^baseline\s+\d+\.\d%/m);
    const prompts = promptsConfigSchema.parse(parse(readFileSync(out, 'utf8')).prompts);
    assert.ok(prompts['gsm8k-solver']?.versions['1'], readFileSync(out, 'utf8'));
    // A second run adds the next version beside the first.
    const again = runCli(args);
    assert.equal(await again.exited, 0, again.err());
    assert.deepEqual(Object.keys(promptsConfigSchema.parse(parse(readFileSync(out, 'utf8')).prompts)['gsm8k-solver']!.versions), ['1', '2']);
    assert.match(again.err(), /wrote gsm8k-solver@2/);
  });

  it('runs end to end on the real engine with a tiny budget and writes the prompt file', { timeout: 600_000 }, async () => {
    const config = join(dir, 'gw.yaml');
    writeFileSync(config, ['models:', '  chat:', `    replicas: [{ type: llama, model: ${JSON.stringify(storiesPath)}, threads: 1 }]`].join('\n'));
    const out = join(dir, 'prompts.yaml');
    const cli = runCli([
      'optimize',
      '--config',
      config,
      '--model',
      'chat',
      '--train',
      '4',
      '--dev',
      '6',
      '--test',
      '6',
      '--budget',
      '4',
      '--max-tokens',
      '8',
      '--out',
      out,
    ]);
    assert.equal(await cli.exited, 0, cli.err());
    assert.match(cli.out(), /held-out test split, 6 items/);
    const text = readFileSync(out, 'utf8');
    // What it wrote is a gateway config's prompts section, as the gateway loads it.
    const gateway = parseGatewayConfig(`${readFileSync(config, 'utf8')}\n${text.replace(/^#.*\n/, '')}`);
    assert.ok(gateway.prompts['gsm8k-solver']?.versions['1'], text);
  });

  it('refuses what cannot be run, in one line', async () => {
    const cases: [string[], RegExp][] = [
      [['optimize'], /--sim-solver P, or --config FILE/],
      [['optimize', '--sim-solver', '0.5', '--train', '1000', '--dev', '1000'], /has 1319/],
      [['optimize', '--sim-solver', '1.5'], /--sim-solver/],
      [['optimize', '--sim-solver', '0.5', '--dataset', 'nope'], /unknown dataset 'nope'/],
    ];
    for (const [args, message] of cases) {
      const cli = runCli(args);
      assert.notEqual(await cli.exited, 0, args.join(' '));
      assert.match(cli.err(), message);
      assert.equal(cli.err().trim().split('\n').length, 1, cli.err());
    }
  });
});
