// Quantization refuses what would lose its input or cannot work, in one line that says what to do instead.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { QuantizeError, quantizeModel } from '../../src/engines/llama/index.js';
import { storiesPath } from '../support/server.js';

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('quantizeModel', () => {
  let dir: string;
  let input: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'autoglm-quantize-'));
    // A copy: a refusal that failed would overwrite only this.
    input = join(dir, 'stories.gguf');
    await copyFile(storiesPath, input);
    await mkdir(join(dir, 'sub'));
    await symlink(input, join(dir, 'link.gguf'));
    await link(input, join(dir, 'hard.gguf'));
  });

  it('never writes over its input, whichever path names it', async () => {
    const before = digest(input);
    for (const output of [input, join(dir, 'sub', '..', 'stories.gguf'), join(dir, 'link.gguf'), join(dir, 'hard.gguf')]) {
      await assert.rejects(quantizeModel(input, output, 'q8_0', { threads: 1 }), (err: Error) => {
        assert.ok(err instanceof QuantizeError, `${output}: a QuantizeError, not ${err.name}`);
        assert.match(err.message, /is the input model itself; write the quantized model to another path/);
        return true;
      });
      assert.equal(digest(input), before, `${output}: the input is untouched`);
    }
  });

  it("an already quantized model: says to quantize from the F16/F32 file, without llama.cpp's raw log", async () => {
    const q5 = join(dir, 'stories.q5_0.gguf');
    await quantizeModel(input, q5, 'q5_0', { threads: 1 });
    await assert.rejects(quantizeModel(q5, join(dir, 'stories.q8_0.gguf'), 'q8_0', { threads: 1 }), (err: Error) => {
      assert.ok(err instanceof QuantizeError, `a QuantizeError, not ${err.name}`);
      assert.match(err.message, /^stories\.q5_0\.gguf is already quantized \(q5_0\), .*quantize from its F16 or F32 file$/);
      assert.doesNotMatch(err.message, /llama_model_quantize|size =|\n/);
      return true;
    });
  });
});
