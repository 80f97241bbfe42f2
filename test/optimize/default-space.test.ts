// `autoglm tune`'s default space names serve flags that exist and values they accept: a trial of it starts a server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { registerServe } from '../../src/cli/serve-command.js';
import { defaultEngineSpace } from '../../src/tune/index.js';

describe('the default tuning space', () => {
  const program = new Command();
  registerServe(program);
  const serve = program.commands.find((c) => c.name() === 'serve')!;
  const space = defaultEngineSpace(2);

  it('includes flash attention and prompt lookup beside threads, parallel and batch size', () => {
    assert.deepEqual(
      space.map((p) => p.name),
      ['threads', 'parallel', 'batchSize', 'flashAttention', 'speculative'],
    );
  });

  for (const param of space) {
    it(`${param.name} is a serve flag taking every value tried`, () => {
      const flag = `--${param.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      const option = serve.options.find((o) => o.long === flag);
      assert.ok(option, `serve has ${flag}`);
      if (param.kind === 'cat' && option.argChoices) {
        for (const v of param.values) assert.ok(option.argChoices.includes(v), `${flag} accepts ${v}`);
      }
    });
  }
});
