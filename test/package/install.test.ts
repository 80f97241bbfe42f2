// The published package as a user (or a container image) installs it: `npm pack`, then the Dockerfile's own runtime
// install steps (`npm install --omit=dev` of the tarball) replayed in an empty folder, then the installed `autoglm`
// started as the image starts it (its ENV, ENTRYPOINT and CMD) answers its health check, a chat and the dashboard.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { modelMirror, repoRoot } from '../support/server.js';
import { until } from '../support/processes.js';
import { appInstallSteps, execForm, readDockerfile, remap, runtimeEnv } from '../deploy/image.js';

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
  /** The image's folders, each stood in for by one in the scratch folder (models: the mirror, as if mounted). */
  let paths: Record<string, string>;
  const image = readDockerfile();
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'autoglm-pack-'));
    app = join(work, 'app');
    paths = { '/app': app, '/pack': join(work, 'pack'), '/data': join(work, 'data'), '/cache': join(work, 'cache'), '/models': modelMirror };
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('packs and installs without dev dependencies', { timeout: INSTALL_TIMEOUT_MS }, async () => {
    await mkdir(paths['/pack']!, { recursive: true });
    // The suite's build (pretest) made dist/ already; packing without `prepare` leaves it alone while other files run.
    const stdout = await run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', paths['/pack']!], { cwd: repoRoot });
    // The tarball under the name the Dockerfile's build stage gives it.
    await rename(join(paths['/pack']!, stdout.trim().split('\n').pop()!), join(paths['/pack']!, 'open-autoglm.tgz'));
    await mkdir(app, { recursive: true });
    const steps = appInstallSteps(image);
    assert.ok(
      steps.some((s) => s.includes('npm install')),
      `the Dockerfile's runtime stage has an npm install step: ${steps.join(' | ')}`,
    );
    for (const step of steps) await run('sh', ['-c', remap(step, paths)], { cwd: app, timeout: INSTALL_TIMEOUT_MS });
    const installed = await readdir(join(app, 'node_modules'));
    assert.ok(installed.includes('open-autoglm'), 'open-autoglm is installed');
    for (const dev of ['typescript', 'tsx', 'openai', 'playwright-core', 'esbuild'])
      assert.ok(!installed.includes(dev), `${dev} is a dev dependency and stays out`);
  });

  it("the installed autoglm, started as the image starts it, passes the image's health check and serves a chat and the dashboard", {
    timeout: 120_000,
  }, async () => {
    // ENTRYPOINT ["tini", "--", "autoglm"] + CMD: tini is left out (it only forwards signals), the port is any free one.
    const entrypoint = execForm(image, 'ENTRYPOINT')!;
    const cmd = execForm(image, 'CMD')!;
    const bin = entrypoint.at(-1)!;
    const { PATH: _path, ...imageEnv } = runtimeEnv(image);
    const env: NodeJS.ProcessEnv = { ...process.env, ...Object.fromEntries(Object.entries(imageEnv).map(([k, v]) => [k, remap(v, paths)])) };
    // The model is found through the image's /models, as when a folder is mounted there, not through the mirror.
    delete env.AUTOGLM_MODEL_MIRROR;
    await mkdir(env.AUTOGLM_DATA_DIR!, { recursive: true });
    const child = spawn(join(app, 'node_modules/.bin', bin), [...cmd, '--port', '0', '--threads', '1'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.on('error', (e) => (err += String(e)));
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    try {
      await until(() => /Ctrl-C/.test(out) || child.exitCode !== null, 60_000);
      const port = /at http:\/\/0\.0\.0\.0:(\d+)\/v1/.exec(out)?.[1];
      assert.ok(port, `the installed server printed its URL on 0.0.0.0, as the CMD asks (stdout: ${out}, stderr: ${err})`);
      const url = `http://127.0.0.1:${port}`;
      // The image's HEALTHCHECK command itself, aimed at this port.
      const [checkCmd, ...checkArgs] = execForm(image, 'HEALTHCHECK')!;
      const expose = cmd[cmd.indexOf('--port') + 1]!;
      await run(
        checkCmd!,
        checkArgs.map((a) => a.replace(`:${expose}/`, `:${port}/`)),
      );
      const stopped = spawn(
        checkCmd!,
        checkArgs.map((a) => a.replace(`:${expose}/`, ':1/')),
      );
      assert.notEqual(await new Promise((r) => stopped.once('exit', r)), 0, 'the health check fails where no server answers');
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
