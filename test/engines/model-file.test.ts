// Model resolution: paths, bare names through the mirror, catalog names, hf: downloads into the cache (verified
// against the hub's sha256, resumed after a cut), and clear failures.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, modelPathsFromEnv } from '../../src/config/index.js';
import { loadCatalog, ModelCatalog, ModelUnavailableError, parseCatalogFile, resolveModel } from '../../src/engines/llama/index.js';
import { startModelHub, storiesBytes, storiesSha256, type ModelHub } from '../support/model-hub.js';
import { modelMirror, storiesPath } from '../support/server.js';

const sink = { write: () => true } as unknown as NodeJS.WritableStream;

describe('model resolution', () => {
  let cacheDir: string;
  let hub: ModelHub;

  before(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'autoglm-cache-'));
    hub = await startModelHub();
  });
  after(() => hub.close());

  const paths = (env: Record<string, string> = {}) => modelPathsFromEnv({ AUTOGLM_CACHE_DIR: cacheDir, AUTOGLM_HF_ENDPOINT: hub.url, HOME: cacheDir, ...env });
  const builtIn = new ModelCatalog([{ origin: 'built-in', entries: {} }]);
  const noCatalog = { catalog: builtIn, progressStream: sink };

  it('resolves a bare name through the mirror, and a path as it is', async () => {
    const byName = await resolveModel('stories260K', paths({ AUTOGLM_MODEL_MIRROR: modelMirror }), noCatalog);
    assert.equal(byName.path, storiesPath);
    assert.equal(byName.name, 'stories260K');
    const byPath = await resolveModel(storiesPath, paths());
    assert.equal(byPath.path, storiesPath);
  });

  it('a missing model is one clear line naming where it looked', async () => {
    await assert.rejects(resolveModel('no-such-model', paths({ AUTOGLM_MODEL_MIRROR: modelMirror }), noCatalog), (err: Error) => {
      assert.ok(err instanceof ModelUnavailableError, 'err instanceof ModelUnavailableError');
      assert.match(err.message, /no-such-model/);
      assert.ok(err.message.includes(modelMirror), 'err.message.includes(modelMirror)');
      assert.ok(!err.message.includes('\n'), "!err.message.includes('\\n')");
      return true;
    });
    await assert.rejects(resolveModel('./nothing/here.gguf', paths()), /model file not found/);
  });

  it('a file that is not GGUF is refused before llama.cpp sees it', async () => {
    const fake = join(cacheDir, 'fake.gguf');
    await writeFile(fake, 'this is not a model at all');
    await assert.rejects(resolveModel(fake, paths()), /not a GGUF model file/);
  });

  it('downloads hf:owner/repo/file.gguf once into the cache, following redirects', async () => {
    const first = await resolveModel('hf:tiny/stories/stories260K.gguf', paths(), noCatalog);
    assert.equal(first.path, join(cacheDir, 'models', 'tiny', 'stories', 'stories260K.gguf'));
    assert.equal(statSync(first.path).size, statSync(storiesPath).size);
    assert.ok(!existsSync(`${first.path}.part`), 'no .part file is left behind');
    const before = hub.requests.length;
    await resolveModel('hf:tiny/stories/stories260K.gguf', paths(), noCatalog);
    assert.equal(hub.requests.length, before, 'the second resolution uses the cache');
  });

  it('an hf: model in the mirror needs no network', async () => {
    const before = hub.requests.length;
    const found = await resolveModel('hf:anyone/anything/stories260K.gguf', paths({ AUTOGLM_MODEL_MIRROR: modelMirror }));
    assert.equal(found.path, storiesPath);
    assert.equal(hub.requests.length, before);
  });

  it('a failed download is a clear error and leaves no partial file', async () => {
    await assert.rejects(resolveModel('hf:tiny/stories/missing.gguf', paths(), noCatalog), /could not download tiny\/stories\/missing.gguf: HTTP 404/);
    assert.ok(!existsSync(join(cacheDir, 'models', 'tiny', 'stories', 'missing.gguf.part')), 'no .part for a file the hub does not have');
  });

  it('an hf: spec of the wrong form says which form is expected, not that a model is missing', async () => {
    for (const spec of ['hf:bad', 'hf:owner/repo', 'hf:owner/repo/model.bin']) {
      await assert.rejects(resolveModel(spec, paths({ AUTOGLM_MODEL_MIRROR: modelMirror })), (err: Error) => {
        assert.ok(err instanceof ModelUnavailableError, `${spec}: err instanceof ModelUnavailableError`);
        assert.match(err.message, /expected hf:owner\/repo\/file\.gguf/, spec);
        assert.doesNotMatch(err.message, /not found/, spec);
        return true;
      });
    }
  });

  it('a 404 leaves no empty folders in the cache; a broken-off download keeps its .part to resume from', async () => {
    await assert.rejects(resolveModel('hf:nobody/nothing/missing.gguf', paths(), noCatalog), /HTTP 404/);
    assert.ok(!existsSync(join(cacheDir, 'models', 'nobody')), 'no folder is left for a model that was never downloaded');
    await assert.rejects(resolveModel('hf:cut/short/model.gguf', paths(), noCatalog), /could not download cut\/short\/model\.gguf/);
    assert.ok(!existsSync(join(cacheDir, 'models', 'cut', 'short', 'model.gguf')), 'a cut download is never used');
    assert.equal(statSync(join(cacheDir, 'models', 'cut', 'short', 'model.gguf.part')).size, 1000, 'what arrived is kept for a resume');
    assert.ok(existsSync(join(cacheDir, 'models', 'tiny', 'stories', 'stories260K.gguf')), 'models already downloaded stay');
  });

  it("a download is checked against the hub's X-Linked-Etag sha256; a mismatch deletes the file and says so", async () => {
    await assert.rejects(resolveModel('hf:wrong/etag/stories260K.gguf', paths(), noCatalog), (err: Error) => {
      assert.ok(err instanceof ModelUnavailableError, 'err instanceof ModelUnavailableError');
      assert.match(err.message, /sha256 mismatch for stories260K\.gguf: expected [0-9a-f]{64}, got [0-9a-f]{64}; the downloaded file was deleted/);
      assert.ok(err.message.includes(storiesSha256), 'the sha256 the bytes really have is named');
      return true;
    });
    const target = join(cacheDir, 'models', 'wrong', 'etag', 'stories260K.gguf');
    assert.ok(!existsSync(target) && !existsSync(`${target}.part`), 'neither the file nor a .part is left');
  });

  it('a cut download resumes from its .part with an HTTP Range, and the whole is verified', async () => {
    await assert.rejects(resolveModel('hf:cut/once/stories260K.gguf', paths(), noCatalog), /could not download cut\/once/);
    const target = join(cacheDir, 'models', 'cut', 'once', 'stories260K.gguf');
    const kept = statSync(`${target}.part`).size;
    assert.ok(kept > 0 && kept < storiesBytes.length, `part of the file was kept (${kept} bytes)`);
    const before = hub.requests.length;
    const resumed = await resolveModel('hf:cut/once/stories260K.gguf', paths(), noCatalog);
    assert.equal(resumed.path, target);
    const cdn = hub.requests.slice(before).find((r) => r.url.startsWith('/cdn/'));
    assert.equal(cdn?.range, `bytes=${kept}-`, 'the second request asked only for the rest');
    assert.ok(readFileSync(target).equals(storiesBytes), 'the resumed file is byte for byte the original');
  });

  it('a catalog name not found on disk is pulled from the hub, and found in the cache the next time', async () => {
    const catalog = await loadCatalog({ AUTOGLM_DATA_DIR: cacheDir });
    const resolved = await resolveModel('stories260K', paths(), { catalog, progressStream: sink });
    assert.equal(resolved.path, join(cacheDir, 'models', 'ggml-org', 'models', 'tinyllamas', 'stories260K.gguf'));
    assert.equal(resolved.name, 'stories260K');
    const before = hub.requests.length;
    assert.equal((await resolveModel('stories260K', paths(), { catalog })).path, resolved.path);
    assert.equal(hub.requests.length, before, 'the cache answers without the network');
  });

  it('offline, a catalog name fails in one line saying where it looked and what it tried to download', async () => {
    const catalog = await loadCatalog({ AUTOGLM_DATA_DIR: cacheDir });
    const offline = modelPathsFromEnv({ AUTOGLM_CACHE_DIR: join(cacheDir, 'empty'), AUTOGLM_HF_ENDPOINT: 'http://127.0.0.1:9', HOME: cacheDir });
    await assert.rejects(resolveModel('llama3.2:1b', offline, { catalog, progressStream: sink }), (err: Error) => {
      assert.match(
        err.message,
        /model 'llama3\.2:1b' is not in .* nor the cache, and downloading bartowski\/Llama-3\.2-1B-Instruct-GGUF\/\S+\.gguf from http:\/\/127\.0\.0\.1:9 failed: .*ECONNREFUSED/,
      );
      assert.ok(!err.message.includes('\n'), 'one line');
      return true;
    });
  });

  it("names follow Ollama's name:tag; a bare name means its default tag; a user catalog overrides a built-in entry", async () => {
    const catalog = await loadCatalog({ AUTOGLM_DATA_DIR: cacheDir });
    assert.equal(catalog.lookup('qwen2.5:0.5b')?.repo, 'Qwen2.5-0.5B-Instruct-GGUF');
    assert.equal(catalog.lookup('QWEN2.5:0.5B')?.name, 'qwen2.5:0.5b', 'names are case-insensitive');
    assert.equal(catalog.lookup('llama3.2')?.name, 'llama3.2:3b');
    assert.equal(catalog.lookup('llama3.2:latest')?.name, 'llama3.2:3b');
    assert.equal(catalog.lookup('nomic-embed-text')?.role, 'embedding');
    assert.equal(catalog.lookup('qwen2.5:99b'), undefined);
    const file = join(cacheDir, 'catalog.yaml');
    await writeFile(
      file,
      'models:\n  qwen2.5:0.5b:\n    source: hf:tiny/stories/stories260K.gguf\n  qwen2.5:tiny:\n    source: hf:tiny/stories/stories260K.gguf\n    default: true\n',
    );
    const user = await loadCatalog({ AUTOGLM_CATALOG: file });
    assert.equal(user.lookup('qwen2.5:0.5b')?.owner, 'tiny', 'the user entry wins');
    assert.equal(user.lookup('qwen2.5:0.5b')?.origin, file);
    assert.equal(user.lookup('qwen2.5')?.name, 'qwen2.5:tiny', "the user's default tag wins too");
    assert.equal(user.lookup('qwen2.5:3b')?.owner, 'Qwen', 'other built-in entries stay');
    assert.equal((await loadCatalog({ AUTOGLM_DATA_DIR: cacheDir })).lookup('qwen2.5:0.5b')?.owner, 'tiny', 'catalog.yaml in the data folder is read');
  });

  it('a bad user catalog is refused at its file:line:col, as config files are', async () => {
    const file = join(cacheDir, 'bad-catalog.yaml');
    assert.throws(
      () => parseCatalogFile('models:\n  mine:1b:\n    sourse: hf:a/b/c.gguf\n', file),
      (err: Error) => err instanceof ConfigError && err.problems.includes(`${file}:3:5: models.mine:1b: unknown key 'sourse' (did you mean 'source'?)`),
    );
    await writeFile(file, 'models:\n  mine:\n    source: hf:a/b/c.bin\n    role: chatty\n');
    await assert.rejects(loadCatalog({ AUTOGLM_CATALOG: file }), (err: Error) => {
      assert.ok(err instanceof ConfigError, 'a ConfigError');
      assert.match(
        err.message,
        new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:13: models\\.mine\\.source: expected hf:owner/repo/file\\.gguf \\(and 1 more\\)$`),
      );
      return true;
    });
    await assert.rejects(loadCatalog({ AUTOGLM_CATALOG: join(cacheDir, 'absent.yaml') }), /cannot read model catalog .*absent\.yaml/);
  });
});
