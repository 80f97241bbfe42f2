// `autoglm serve --model NAME` pulling a catalog model on first use, and the one-line refusals of names and catalogs
// that lead nowhere, as a user runs them against a local stand-in for the hub.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { modelCli, type Run, until } from '../support/model-cli.js';
import { startModelHub, type ModelHub } from '../support/model-hub.js';

let hub: ModelHub;
let home: string;
let cache: string;
before(async () => {
  hub = await startModelHub();
  home = await mkdtemp(join(tmpdir(), 'autoglm-serve-name-'));
  cache = join(home, 'cache');
});
after(() => hub.close());

const { autoglm, refused } = modelCli(() => ({ home, hubUrl: hub.url }));

describe('bad names', { timeout: 600_000 }, () => {
  it('pull of a name that is nowhere is one line and a non-zero exit', async () => {
    await refused(
      ['pull', 'no-such-model'],
      cache,
      /^autoglm: error: 'no-such-model' is not a catalog name nor hf:owner\/repo\/file\.gguf; autoglm models lists the names$/,
    );
  });

  it('serve --model with a name neither on disk nor in the catalog is one line', async () => {
    await refused(['serve', '--model', 'qwen2.5:99b', '--port', '0'], cache, /model 'qwen2\.5:99b' not found in/);
  });

  it('a bad user catalog is one line at its file:line:col', async () => {
    const bad = join(home, 'bad-catalog.yaml');
    await writeFile(bad, 'models:\n  mine:\n    source: hf:a/b/c.gguf\n    role: chatty\n');
    await refused(['models'], cache, new RegExp(`${bad.replace(/[.]/g, '\\.')}:4:11: models\\.mine\\.role: 'chatty' is not one of chat, embedding`), {
      AUTOGLM_CATALOG: bad,
    });
  });
});

describe('serve by catalog name', { timeout: 600_000 }, () => {
  let server: Run | undefined;
  after(() => server?.kill('SIGKILL'));

  it('serve --model stories260K with no mirror pulls it from the hub on first use, then serves it', async () => {
    const cache = join(home, 'serve-cache');
    server = autoglm(['serve', '--model', 'stories260K', '--port', '0', '--threads', '1', '--parallel', '1'], cache);
    await until(() => /Ctrl-C/.test(server!.out()) || server!.exitCode !== null, 110_000);
    assert.match(server.out(), /Ctrl-C/, server.err());
    const path = join(cache, 'models', 'ggml-org', 'models', 'tinyllamas', 'stories260K.gguf');
    assert.ok(server.out().includes(path), 'the banner names the pulled file');
    assert.match(server.err(), /stories260K\.gguf \[.*\] 100%/, 'the download showed its progress');
    const url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(server.out())![1]!;
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8 }),
    });
    assert.equal(res.statusCode, 200);
    const json = (await res.body.json()) as { model: string; choices: { message: { content: string } }[] };
    assert.equal(json.model, 'stories260K');
    server.kill('SIGTERM');
    await server.exited;
    server = undefined;
  });

  it('offline, serve with nothing local fails in one line naming where it looked and what it tried to fetch', async () => {
    await refused(
      ['serve', '--port', '0'],
      join(home, 'offline-cache'),
      /^autoglm: error: model 'stories260K' is not in .* nor the cache, and downloading ggml-org\/models\/tinyllamas\/stories260K\.gguf from http:\/\/127\.0\.0\.1:9 failed: .*ECONNREFUSED/,
      { AUTOGLM_HF_ENDPOINT: 'http://127.0.0.1:9' },
    );
  });
});
