// The published package as a user (or a container image) installs it: `npm pack`, then `npm install --omit=dev` of the
// tarball into an empty folder, then the installed `autoglm serve` answers a chat and serves its dashboard.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { modelMirror, repoRoot } from '../support/server.js';
import { until } from '../support/processes.js';

const execFileAsync = promisify(execFile);
/** Runs a command; a failure says what the command printed, not only its exit code. */
async function run(cmd: string, args: string[], options: { cwd?: string; timeout?: number } = {}): Promise<string> {
  try {
    return (await execFileAsync(cmd, args, { maxBuffer: 64 << 20, ...options })).stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}
// Installing the tarball unpacks node-llama-cpp's prebuilt binaries for this platform (several hundred MB).
const INSTALL_TIMEOUT_MS = 15 * 60_000;

describe('the packed package installed with --omit=dev', { timeout: INSTALL_TIMEOUT_MS + 120_000 }, () => {
  let work: string;
  let app: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'autoglm-pack-'));
    app = join(work, 'app');
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('packs and installs without dev dependencies', { timeout: INSTALL_TIMEOUT_MS }, async () => {
    const stdout = await run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: repoRoot });
    const tarball = join(work, stdout.trim().split('\n').pop()!);
    await mkdir(app, { recursive: true });
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'autoglm-user', private: true }));
    await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, timeout: INSTALL_TIMEOUT_MS });
    const installed = await readdir(join(app, 'node_modules'));
    assert.ok(installed.includes('open-autoglm'), 'open-autoglm is installed');
    for (const dev of ['typescript', 'tsx', 'openai', 'playwright-core', 'esbuild'])
      assert.ok(!installed.includes(dev), `${dev} is a dev dependency and stays out`);
  });

  it('the installed autoglm serves a chat and the dashboard', { timeout: 120_000 }, async () => {
    const child = spawn(join(app, 'node_modules/.bin/autoglm'), ['serve', '--port', '0', '--threads', '1'], {
      cwd: app,
      env: { ...process.env, AUTOGLM_MODEL_MIRROR: modelMirror, AUTOGLM_DATA_DIR: join(work, 'data'), AUTOGLM_CACHE_DIR: join(work, 'cache') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.on('error', (e) => (err += String(e)));
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    try {
      await until(() => /Ctrl-C/.test(out) || child.exitCode !== null, 60_000);
      const url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out)?.[1];
      assert.ok(url, `the installed server printed its URL (stdout: ${out}, stderr: ${err})`);
      const chat = await request(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'stories260K', messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 8 }),
      });
      assert.equal(chat.statusCode, 200);
      const json = (await chat.body.json()) as { choices: { message: { content: string } }[] };
      assert.ok(json.choices[0]!.message.content.length > 0, 'the chat has an answer');

      const bare = await request(`${url}/ui`);
      await bare.body.dump();
      const pageUrl = bare.statusCode === 302 ? new URL(String(bare.headers.location), url).toString() : `${url}/ui`;
      const page = await request(pageUrl);
      assert.equal(page.statusCode, 200, `the dashboard page at ${pageUrl}`);
      const html = await page.body.text();
      const script = /src="([^"]*app\.js)"/.exec(html)?.[1];
      assert.ok(script, `the dashboard page loads its script: ${html.slice(0, 200)}`);
      const bundle = await request(new URL(script, pageUrl).toString());
      assert.equal(bundle.statusCode, 200);
      assert.ok((await bundle.body.text()).length > 1000, 'the dashboard bundle is served');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    }
  });
});
