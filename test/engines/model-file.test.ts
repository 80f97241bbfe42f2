// Model resolution: paths, bare names through the mirror, hf: downloads into the cache, and clear failures.
import assert from 'node:assert/strict';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelUnavailableError, resolveModel } from '../../src/engines/llama/index.js';
import { modelPathsFromEnv } from '../../src/config/index.js';
import { modelMirror, storiesPath } from '../support/server.js';

describe('model resolution', () => {
  let cacheDir: string;
  let hub: Server;
  let hubUrl: string;
  const hubRequests: string[] = [];

  before(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'autoglm-cache-'));
    // A local stand-in for a model hub: it redirects to a "CDN" path, as real hubs do, and serves the real file.
    hub = createServer((req, res) => {
      hubRequests.push(req.url ?? '');
      if (req.url === '/tiny/stories/resolve/main/stories260K.gguf') {
        res.writeHead(302, { location: '/cdn/blob' }).end();
      } else if (req.url === '/cut/short/resolve/main/model.gguf') {
        // A connection that dies part way: the header promises more bytes than ever come.
        res.writeHead(200, { 'content-length': 1_000_000 });
        res.write(Buffer.alloc(1000), () => res.destroy());
      } else if (req.url === '/cdn/blob') {
        res.writeHead(200, { 'content-length': statSync(storiesPath).size });
        createReadStream(storiesPath).pipe(res);
      } else res.writeHead(404).end('not found');
    });
    await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
    const addr = hub.address() as { port: number };
    hubUrl = `http://127.0.0.1:${addr.port}`;
  });
  after(() => new Promise<void>((r) => hub.close(() => r())));

  const paths = (env: Record<string, string> = {}) => modelPathsFromEnv({ AUTOGLM_CACHE_DIR: cacheDir, AUTOGLM_HF_ENDPOINT: hubUrl, HOME: cacheDir, ...env });

  it('resolves a bare name through the mirror, and a path as it is', async () => {
    const byName = await resolveModel('stories260K', paths({ AUTOGLM_MODEL_MIRROR: modelMirror }));
    assert.equal(byName.path, storiesPath);
    assert.equal(byName.name, 'stories260K');
    const byPath = await resolveModel(storiesPath, paths());
    assert.equal(byPath.path, storiesPath);
  });

  it('a missing model is one clear line naming where it looked', async () => {
    await assert.rejects(resolveModel('no-such-model', paths({ AUTOGLM_MODEL_MIRROR: modelMirror })), (err: Error) => {
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
    const first = await resolveModel('hf:tiny/stories/stories260K.gguf', paths());
    assert.equal(first.path, join(cacheDir, 'models', 'tiny', 'stories', 'stories260K.gguf'));
    assert.equal(statSync(first.path).size, statSync(storiesPath).size);
    assert.ok(!existsSync(`${first.path}.part`), 'no .part file is left behind');
    const before = hubRequests.length;
    await resolveModel('hf:tiny/stories/stories260K.gguf', paths());
    assert.equal(hubRequests.length, before, 'the second resolution uses the cache');
  });

  it('an hf: model in the mirror needs no network', async () => {
    const before = hubRequests.length;
    const found = await resolveModel('hf:anyone/anything/stories260K.gguf', paths({ AUTOGLM_MODEL_MIRROR: modelMirror }));
    assert.equal(found.path, storiesPath);
    assert.equal(hubRequests.length, before);
  });

  it('a failed download is a clear error and leaves no partial file', async () => {
    await assert.rejects(resolveModel('hf:tiny/stories/missing.gguf', paths()), /could not download tiny\/stories\/missing.gguf: HTTP 404/);
    assert.ok(
      !existsSync(join(cacheDir, 'models', 'tiny', 'stories', 'missing.gguf.part')),
      "!existsSync(join(cacheDir, 'models', 'tiny', 'stories', 'missing.gguf.part'))",
    );
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

  it('a failed download leaves no empty folders in the cache', async () => {
    await assert.rejects(resolveModel('hf:nobody/nothing/missing.gguf', paths()), /HTTP 404/);
    assert.ok(!existsSync(join(cacheDir, 'models', 'nobody')), 'no folder is left for a model that was never downloaded');
    await assert.rejects(resolveModel('hf:cut/short/model.gguf', paths()), /could not download cut\/short\/model\.gguf/);
    assert.ok(!existsSync(join(cacheDir, 'models', 'cut')), 'nor for one whose download broke off');
    assert.ok(existsSync(join(cacheDir, 'models', 'tiny', 'stories', 'stories260K.gguf')), 'models already downloaded stay');
  });
});
