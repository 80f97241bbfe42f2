// `autoglm quantize --threads` takes a whole number above 0, refused in one line like every other count flag,
// before anything is written.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../support/processes.js';
import { modelMirror } from '../support/server.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-quantize-threads-'));
const env = { ...process.env, AUTOGLM_MODEL_MIRROR: modelMirror, AUTOGLM_CACHE_DIR: dir };

describe('autoglm quantize --threads', () => {
  for (const threads of ['abc', '0', '2.5', '-1']) {
    it(`refuses --threads ${threads} in one line and writes nothing`, async () => {
      const out = join(dir, `stories-${threads}.gguf`);
      const run = runCli(['quantize', 'stories260K', out, '--type', 'q8_0', '--no-sample', '--threads', threads], env);
      assert.equal(await run.exited, 1, run.err());
      assert.equal(run.err().trim(), `autoglm: error: option '-t, --threads <n>' argument '${threads}' is invalid. It must be a whole number above 0.`);
      assert.equal(existsSync(out), false, 'no output file');
    });
  }

  it('takes a whole number', async () => {
    const out = join(dir, 'stories.q8_0.gguf');
    const run = runCli(['quantize', 'stories260K', out, '--type', 'q8_0', '--no-sample', '--threads', '1'], env);
    assert.equal(await run.exited, 0, run.err());
    assert.equal(existsSync(out), true, 'the quantized file');
  });
});
