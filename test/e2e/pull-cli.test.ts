// `autoglm pull` as a user runs it, against a local stand-in for the hub: verified, resumed, by catalog name.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { modelCli } from '../support/model-cli.js';
import { startModelHub, storiesBytes, storiesSha256, type ModelHub } from '../support/model-hub.js';

let hub: ModelHub;
let home: string;
// The pulls share one cache, in order.
let cache: string;
let catalog: string;
const stored = (...parts: string[]) => join(cache, 'models', ...parts);
before(async () => {
  hub = await startModelHub();
  home = await mkdtemp(join(tmpdir(), 'autoglm-pull-'));
  cache = join(home, 'cache');
  catalog = join(home, 'my-catalog.yaml');
  await writeFile(
    catalog,
    [
      'models:',
      '  qwen2.5:0.5b:', // overrides the built-in entry
      '    source: hf:tiny/stories/stories260K.gguf',
      '    quant: F32',
      '  broken:1b:',
      '    source: hf:wrong/etag/stories260K.gguf',
      '',
    ].join('\n'),
  );
});
after(() => hub.close());

const { finished, refused } = modelCli(() => ({ home, hubUrl: hub.url }));

describe('autoglm pull', { timeout: 600_000 }, () => {
  it('pull NAME downloads a catalog model with a progress bar and verifies its sha256', async () => {
    const { code, out, err } = await finished(['pull', 'stories260K'], cache);
    assert.equal(code, 0, err);
    const path = stored('ggml-org', 'models', 'tinyllamas', 'stories260K.gguf');
    assert.equal(out, `pulled stories260K -> ${path} (sha256 ${storiesSha256} verified)\n`);
    assert.match(err, /stories260K\.gguf \[.*\] 100%/, 'a progress bar on stderr');
    assert.ok(readFileSync(path).equals(storiesBytes), 'the file arrived whole');
    const again = await finished(['pull', 'stories260K'], cache);
    assert.equal(again.code, 0);
    assert.equal(again.out, `stories260K is already pulled: ${path}\n`);
  });

  it('a sha256 mismatch deletes the download and says so, in one line', async () => {
    await refused(
      ['pull', 'broken:1b'],
      cache,
      /^autoglm: error: could not pull broken:1b .*sha256 mismatch for stories260K\.gguf: expected [0-9a-f]{64}, got [0-9a-f]{64}; the downloaded file was deleted$/,
      {
        AUTOGLM_CATALOG: catalog,
      },
    );
    assert.ok(!existsSync(stored('wrong', 'etag', 'stories260K.gguf')), 'no file');
    assert.ok(!existsSync(stored('wrong', 'etag', 'stories260K.gguf.part')), 'no .part');
  });

  it('a pull cut off half way resumes with an HTTP Range on the next pull', async () => {
    await refused(['pull', 'hf:cut/once/stories260K.gguf'], cache, /^autoglm: error: could not pull hf:cut\/once\/stories260K\.gguf/);
    const before = hub.requests.length;
    const { code, out, err } = await finished(['pull', 'hf:cut/once/stories260K.gguf'], cache);
    assert.equal(code, 0, err);
    const range = hub.requests.slice(before).find((r) => r.url.startsWith('/cdn/'))?.range;
    assert.match(range ?? '', /^bytes=[1-9]\d*-$/, 'the second request asked for a Range');
    assert.match(out, new RegExp(`resumed at ${range!.slice(6, -1)} bytes, sha256 ${storiesSha256} verified`));
    assert.ok(readFileSync(stored('cut', 'once', 'stories260K.gguf')).equals(storiesBytes), 'the resumed file is whole');
  });

  it('a user catalog entry overrides a built-in one', async () => {
    const { code, out, err } = await finished(['pull', 'qwen2.5:0.5b'], cache, { AUTOGLM_CATALOG: catalog });
    assert.equal(code, 0, err);
    assert.match(out, new RegExp(`pulled qwen2\\.5:0\\.5b -> ${stored('tiny', 'stories', 'stories260K.gguf').replace(/[.]/g, '\\.')}`));
  });
});
