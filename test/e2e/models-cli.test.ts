// `autoglm models` and `autoglm rm` as a user runs them: what is on disk, with its size, quantization and role, and
// deleting a pulled model from the cache (and nothing outside it).
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { modelCli } from '../support/model-cli.js';
import { startModelHub, type ModelHub } from '../support/model-hub.js';
import { modelMirror, storiesPath } from '../support/server.js';

let hub: ModelHub;
let home: string;
let cache: string;
let catalog: string;
const stored = (...parts: string[]) => join(cache, 'models', ...parts);
before(async () => {
  hub = await startModelHub();
  home = await mkdtemp(join(tmpdir(), 'autoglm-models-'));
  cache = join(home, 'cache');
  catalog = join(home, 'my-catalog.yaml');
  await writeFile(catalog, 'models:\n  qwen2.5:0.5b:\n    source: hf:tiny/stories/stories260K.gguf\n    quant: F32\n');
  // Two models in the cache where pull puts them: the built-in stories260K, and a user catalog's qwen2.5:0.5b.
  for (const path of [stored('ggml-org', 'models', 'tinyllamas', 'stories260K.gguf'), stored('tiny', 'stories', 'stories260K.gguf')]) {
    await mkdir(dirname(path), { recursive: true });
    await copyFile(storiesPath, path);
  }
});
after(() => hub.close());

const { finished, refused } = modelCli(() => ({ home, hubUrl: hub.url }));

describe('autoglm models and rm', { timeout: 600_000 }, () => {
  it('models lists local models with size, quantization and role, and marks the catalog names not pulled', async () => {
    const mirror = join(home, 'mirror');
    await mkdir(mirror, { recursive: true });
    await copyFile(join(modelMirror, 'llama-2-tiny-random.gguf'), join(mirror, 'llama-2-tiny-random.gguf'));
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

  it('rm refuses a file outside the cache, by path or by a name that only a mirror has', async () => {
    await refused(['rm', storiesPath], cache, /^autoglm: error: refusing to delete .*stories260K\.gguf: it is outside the model cache/);
    await refused(
      ['rm', 'stories260K'],
      cache,
      /^autoglm: error: 'stories260K' is .*stories260K\.gguf, outside the model cache .*; autoglm rm deletes only pulled models$/,
      {
        AUTOGLM_MODEL_MIRROR: modelMirror,
      },
    );
    assert.ok(existsSync(storiesPath), 'the mirror is untouched');
  });
});
