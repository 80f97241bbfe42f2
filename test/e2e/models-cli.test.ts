// `autoglm pull`, `models` and `rm` as a user runs them, against a local stand-in for the hub.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { modelCli } from '../support/model-cli.js';
import { startModelHub, storiesBytes, storiesSha256, type ModelHub } from '../support/model-hub.js';
import { modelMirror } from '../support/server.js';

let hub: ModelHub;
let home: string;
// The pulls, listing and removals share one cache, in order: what pull puts there, models lists and rm deletes.
let cache: string;
let catalog: string;
const stored = (...parts: string[]) => join(cache, 'models', ...parts);
before(async () => {
  hub = await startModelHub();
  home = await mkdtemp(join(tmpdir(), 'autoglm-models-'));
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

describe('autoglm models and rm', { timeout: 600_000 }, () => {
  it('models lists local models with size, quantization and role, and marks the catalog names not pulled', async () => {
    const mirror = join(home, 'mirror');
    await mkdir(mirror, { recursive: true });
    await writeFile(join(mirror, 'llama-2-tiny-random.gguf'), readFileSync(join(modelMirror, 'llama-2-tiny-random.gguf')));
    const { code, out, err } = await finished(['models'], cache, { AUTOGLM_CATALOG: catalog, AUTOGLM_MODEL_MIRROR: mirror });
    assert.equal(code, 0, err);
    const row = (start: string) => out.split('\n').find((l) => l.startsWith(start) || l.includes(start)) ?? '';
    assert.match(row(stored('ggml-org', 'models', 'tinyllamas', 'stories260K.gguf')), /^stories260K\s+1\.1 MiB\s+F32\s+chat\s+\//);
    assert.match(row(stored('tiny', 'stories', 'stories260K.gguf')), /^qwen2\.5:0\.5b\s+1\.1 MiB\s+F32\s+chat/);
    assert.match(row(join(mirror, 'llama-2-tiny-random.gguf')), /^-\s+1\.7 MiB\s+F16\s+chat/, 'a file in a mirror, quantization read from its header');
    assert.match(row('llama3.2:1b '), /^llama3\.2:1b\s+-\s+Q4_K_M\s+chat\s+not pulled/);
    assert.match(row('nomic-embed-text:v1.5'), /embedding\s+not pulled/);
    assert.doesNotMatch(out, /^stories260K .*not pulled/m, 'a pulled name is not offered again');
  });

  it('rm NAME deletes a pulled model and its empty folders from the cache', async () => {
    const path = stored('ggml-org', 'models', 'tinyllamas', 'stories260K.gguf');
    const { code, out } = await finished(['rm', 'stories260K'], cache);
    assert.equal(code, 0);
    assert.equal(out, `deleted ${path}\n`);
    assert.ok(!existsSync(path), 'the file is gone');
    assert.ok(!existsSync(stored('ggml-org')), 'and its empty folders');
    assert.ok(existsSync(stored('tiny', 'stories', 'stories260K.gguf')), 'other pulled models stay');
  });
});
