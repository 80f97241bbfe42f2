// What a user types that the CLI must refuse in one line (flag values, missing paths), and the document index as the
// README uses it: `index add ./docs`, then `serve --index ./index.json` from the same folder.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { runCli, until, type CliProcess } from '../support/processes.js';
import { modelMirror } from '../support/server.js';

const cwd = mkdtempSync(join(tmpdir(), 'autoglm-cli-input-'));
const env = { ...process.env, AUTOGLM_MODEL_MIRROR: modelMirror, AUTOGLM_CACHE_DIR: cwd };
const autoglm = (args: string[]) => runCli(args, env, cwd);

/** Exit 1 with exactly one `autoglm: error:` line matching `expected`, and no stack trace. */
async function refusedInOneLine(args: string[], expected: RegExp): Promise<void> {
  const run = autoglm(args);
  assert.equal(await run.exited, 1, `${args.join(' ')}: ${run.err()}`);
  const lines = run
    .err()
    .split('\n')
    .filter((l) => l.startsWith('autoglm: error'));
  assert.equal(lines.length, 1, run.err());
  assert.match(lines[0]!, expected);
  assert.ok(!/\n\s+at /.test(run.err()), `no stack trace: ${run.err()}`);
}

describe('autoglm refuses bad input in one line', () => {
  it('a flag value that is not a number names the flag and the value', async () =>
    void (await Promise.all([
      refusedInOneLine(
        ['serve', '--parallel', 'abc', '--port', '0'],
        /^autoglm: error: option '--parallel <n>' argument 'abc' is invalid\. It must be a number\.$/,
      ),
      refusedInOneLine(
        ['serve', '--body-limit', 'lots', '--port', '0'],
        /^autoglm: error: option '--body-limit <size>' argument 'lots' is invalid\. It must be a size such as/,
      ),
      refusedInOneLine(['bench', '-n', 'abc'], /^autoglm: error: option '-n, --requests <n>' argument 'abc' is invalid\./),
      refusedInOneLine(['eval', '--limit', 'ten'], /^autoglm: error: option '-n, --limit <items>' argument 'ten' is invalid\./),
      refusedInOneLine(
        ['eval', '--sim-solver', '2'],
        /^autoglm: error: option '--sim-solver <p>' argument '2' is invalid\. It must be a probability between 0 and 1\.$/,
      ),
      refusedInOneLine(
        ['serve', 'stories260K', '--log-level', 'bogus', '--port', '0'],
        /^autoglm: error: option '--log-level <level>' argument 'bogus' is invalid\. Allowed choices are fatal, error, warn, info, debug, trace, silent\.$/,
      ),
    ])));

  it('a missing index is refused before the model loads, and index add of a path that does not exist', async () =>
    void (await Promise.all([
      refusedInOneLine(
        ['serve', '--index', './no-index.json', '--port', '0'],
        /^autoglm: error: no index at \.\/no-index\.json; build one with `autoglm index add/,
      ),
      refusedInOneLine(['index', 'add', './missing'], /^autoglm: error: \.\/missing does not exist$/),
    ])));
});

describe('autoglm keys refuses what the server would refuse', () => {
  it('a tenant name the config and admin API refuse, and a database that is not there for list and revoke', async () => {
    const missing = join(cwd, 'no-such-dir', 'k.db');
    await Promise.all([
      refusedInOneLine(
        ['keys', 'create', '--tenant', 'bad name', '--database', join(cwd, 'keys.db')],
        /^autoglm: error: --tenant 'bad name': tenant names are letters, digits/,
      ),
      refusedInOneLine(['keys', 'list', '--database', missing], /^autoglm: error: no database at .*k\.db; create a key first/),
      refusedInOneLine(['keys', 'revoke', 'abc', '--database', missing], /^autoglm: error: no database at .*k\.db/),
    ]);
    assert.ok(!existsSync(join(cwd, 'no-such-dir')), 'list and revoke leave no folder behind');
    assert.ok(!existsSync(join(cwd, 'keys.db')), 'a refused create makes no database');
  });
});

describe('autoglm index, then serve --index as the README says', () => {
  let server: CliProcess | undefined;
  after(() => server?.child.kill('SIGKILL'));

  it('index add writes ./index.json in the working directory; serve shows it with its passages and answers from it', async () => {
    mkdirSync(join(cwd, 'docs'));
    writeFileSync(join(cwd, 'docs', 'ports.md'), 'The gateway listens on port 8080 unless --port says otherwise.\n\nThe simulator listens on port 9001.\n');
    const add = autoglm(['index', 'add', './docs']);
    assert.equal(await add.exited, 0, add.err());
    assert.match(add.out(), /in \.\/index\.json/);
    assert.ok(existsSync(join(cwd, 'index.json')), 'the index is in the working directory');

    server = autoglm(['serve', '--port', '0', '--parallel', '1', '--threads', '1', '--index', './index.json', '--body-limit', '512k']);
    await until(() => /Ctrl-C/.test(server!.out()) || server!.child.exitCode !== null, 60_000);
    assert.match(server.out(), /^ {2}index {4}\.\/index\.json \(1 passage from 1 file\)$/m, server.err());
    assert.match(server.out(), /body 512 KiB,/);
    const url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(server.out())![1]!;
    const big = await request(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'x'.repeat(600 * 1024), max_tokens: 1 }),
    });
    assert.equal(big.statusCode, 413, 'a body over 512 KiB is refused');
    await big.body.dump();
    const rag = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'rag:stories260K', messages: [{ role: 'user', content: 'Which port does the simulator listen on?' }], max_tokens: 8 }),
    });
    assert.equal(rag.statusCode, 200);
    assert.deepEqual(((await rag.body.json()) as { reasoning?: { sources?: string[] } }).reasoning?.sources, ['docs/ports.md']);
  });
});
