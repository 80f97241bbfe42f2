// `autoglm ... | head`: when the reader of stdout closes early, the command stops quietly with status 0, as Unix
// tools do, instead of dying on EPIPE with a stack trace.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../support/processes.js';
import { modelMirror } from '../support/server.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-closed-stdout-'));
const env = { ...process.env, AUTOGLM_MODEL_MIRROR: modelMirror, AUTOGLM_CACHE_DIR: dir };

function assertQuiet(status: number | null, stderr: string): void {
  assert.doesNotMatch(stderr, /EPIPE|\n\s+at /, `no stack trace: ${stderr}`);
  assert.equal(status, 0, `exit status 0: ${stderr}`);
}

describe('stdout read by a reader that closes early', () => {
  it('`quantize`, whose reader closes after the first line (the sample follows later)', async () => {
    const cli = runCli(['quantize', 'stories260K', join(dir, 'stories.q8_0.gguf'), '--type', 'q8_0', '--threads', '1'], env);
    let firstBytes = '';
    // A reader like `head -c 1`: it takes what came first and closes its end of the pipe.
    cli.child.stdout!.once('data', (d: Buffer) => {
      firstBytes = d.toString();
      cli.child.stdout!.destroy();
    });
    const status = await cli.exited;
    assert.match(firstBytes, /stories260K.* -> .*stories\.q8_0\.gguf/, 'the first line was read');
    assertQuiet(status, cli.err());
  });

  it('`eval --classifier`, whose reader closed before it wrote anything', async () => {
    const cli = runCli(['eval', '--classifier', '--per-source', '5'], env);
    cli.child.stdout!.destroy();
    assertQuiet(await cli.exited, cli.err());
  });
});
