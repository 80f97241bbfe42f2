// The llama side of the `autoglm` command failing as a user would want: one line that says what to do, exit 1.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gpuBackends, quantizeModel } from '../../src/engines/llama/index.js';
import { modelMirror, storiesPath } from '../support/server.js';
import { cliArgv } from '../support/cli-command.js';

let dir: string;
const running = new Set<ChildProcess>();
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'autoglm-llama-cli-'));
});
// A command that wrongly started serving is never left behind, whatever ended the tests.
const killRunning = () => {
  for (const child of running) child.kill('SIGKILL');
};
after(killRunning);
process.on('exit', killRunning);

/** Runs the CLI to its end; the test model is a copy, so a command that overwrote its input harms nothing shared. */
function autoglm(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, cliArgv(args), {
    cwd: dir,
    env: { ...process.env, AUTOGLM_MODEL_MIRROR: modelMirror, AUTOGLM_CACHE_DIR: join(dir, 'cache'), AUTOGLM_HF_ENDPOINT: 'http://127.0.0.1:9' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  running.add(child);
  // Every command here should fail within seconds; one that starts serving instead is stopped, and fails its test.
  const guard = setTimeout(() => child.kill('SIGKILL'), 100_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(guard);
      running.delete(child);
      resolve({ code, out, err });
    }),
  );
}

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The error line of a failed command: exactly one, after any "loading ..." progress line. */
function errorLine(err: string): string {
  const lines = err
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('autoglm: error:'));
  assert.equal(lines.length, 1, `one error line: ${err}`);
  assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
  return lines[0]!;
}

describe('autoglm quantize refuses what would lose the input or cannot work', () => {
  // Every way of naming the same file is covered by test/engines/quantize.test.ts; here, what the command prints.
  it('refuses to write over its input', async () => {
    const input = join(dir, 'stories.gguf');
    await copyFile(storiesPath, input);
    await mkdir(join(dir, 'sub'));
    const before = digest(input);
    const run = await autoglm(['quantize', 'stories.gguf', './sub/../stories.gguf', '--type', 'q8_0', '--no-sample']);
    assert.equal(run.code, 1, run.out);
    assert.match(errorLine(run.err), /is the input model itself; write the quantized model to another path/);
    assert.doesNotMatch(run.out, /100\.0% of the size/);
    assert.equal(digest(input), before, 'the input is untouched');
  });

  it('a model that is already quantized: one line that says to start from the F16/F32 file', async () => {
    await quantizeModel(storiesPath, join(dir, 'stories.q5_0.gguf'), 'q5_0', { threads: 1 });
    const again = await autoglm(['quantize', 'stories.q5_0.gguf', 'stories.q8_0.gguf', '--type', 'q8_0', '--no-sample']);
    assert.equal(again.code, 1, again.out);
    const line = errorLine(again.err);
    assert.match(line, /stories\.q5_0\.gguf is already quantized \(q5_0\)/);
    assert.match(line, /quantize from its F16 or F32 file/);
    assert.doesNotMatch(line, /llama_model_quantize|size =/, "none of llama.cpp's raw log");
  });
});

describe('autoglm serve on what this machine cannot do', () => {
  it('a GPU backend this machine lacks names the backends it has', async (t) => {
    const { usable } = await gpuBackends();
    // Each backend is covered by test/engines/gpu-backends.test.ts; here, what the command prints for one.
    const gpu = (['cuda', 'vulkan', 'metal'] as const).find((g) => !usable.includes(g));
    if (!gpu) return t.skip('this machine runs every backend');
    const run = await autoglm(['serve', '--gpu', gpu, '--port', '0']);
    assert.equal(run.code, 1, `${gpu}: ${run.out}`);
    const line = errorLine(run.err);
    assert.match(line, new RegExp(`GPU backend '${gpu}' is not usable on this machine \\(usable here: ${usable.join(', ')}\\)`));
    assert.doesNotMatch(line, /NoBinaryFoundError/);
  });

  it('an hf: model of the wrong form says the form expected', async () => {
    const run = await autoglm(['serve', '--model', 'hf:bad', '--port', '0']);
    assert.equal(run.code, 1, run.out);
    assert.match(errorLine(run.err), /'hf:bad' is not a Hugging Face model: expected hf:owner\/repo\/file\.gguf/);
  });
});
