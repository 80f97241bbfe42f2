// The container image's Dockerfile and build context, read with a real Dockerfile parser: the usual mistakes are
// absent, the paths and variables it sets are the ones the server reads, and the CUDA base fits the CUDA binaries.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/server.js';
import { appInstallSteps, commandOf, execForm, lintDockerfile, parseDockerfile, readDockerfile, runtimeEnv, runtimeStage } from './image.js';

const image = readDockerfile();

describe('Dockerfile', () => {
  it('has none of the usual mistakes', () => {
    assert.deepEqual(lintDockerfile(image), []);
  });

  it('the lint finds each usual mistake in a Dockerfile that makes them', () => {
    const bad = parseDockerfile(
      [
        'FROM node AS build',
        'RUN npm install',
        'FROM node:latest',
        'ADD https://example.com/tool.tgz /tmp/',
        'RUN npm ci',
        'USER root',
        'ENTRYPOINT node dist/cli/main.js',
        'CMD ["serve"]',
      ].join('\n'),
    );
    const problems = lintDockerfile(bad).join('\n');
    for (const expected of [
      'FROM node: no tag',
      'latest is not a version',
      'ADD of a URL',
      'npm ci',
      'npm pack',
      '--omit=dev',
      'USER root',
      'HEALTHCHECK',
      'EXPOSE',
      'shell form',
      '0.0.0.0',
    ])
      assert.ok(problems.includes(expected), `the lint reports "${expected}" in:\n${problems}`);
  });

  it('pins the runtime base to a Node 20 bookworm-slim version, as the package supports', () => {
    const runtime = runtimeStage(image);
    assert.match(runtime.image, /^node:20\.\d+\.\d+-bookworm-slim$/);
    const engines = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    assert.equal(engines, '>=20', 'the image runs the oldest Node the package claims');
  });

  it('the runtime stage sets only variables the server reads, and makes each written folder a volume', () => {
    const env = runtimeEnv(image);
    const sources = readdirSync(join(repoRoot, 'src'), { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith('.ts'))
      .map((d) => readFileSync(join(d.parentPath, d.name), 'utf8'))
      .join('\n');
    const autoglm = Object.keys(env).filter((k) => k.startsWith('AUTOGLM_'));
    assert.ok(autoglm.length >= 3, `the image sets the data, cache and models folders: ${autoglm}`);
    for (const name of autoglm) assert.ok(sources.includes(`env.${name}`), `${name} is read by the server (src/)`);
    const volumes = runtimeStage(image)
      .instructions.filter((i) => i.getKeyword() === 'VOLUME')
      .flatMap((i) => JSON.parse(commandOf(image, i)) as string[]);
    for (const name of ['AUTOGLM_DATA_DIR', 'AUTOGLM_CACHE_DIR', 'AUTOGLM_MODELS_DIR'])
      assert.ok(volumes.includes(env[name]!), `${name}=${env[name]} is a volume, so a read-only root can still write there`);
    assert.equal(env.HOME, env.AUTOGLM_DATA_DIR, 'HOME is writable too (the default folders live under it)');
  });

  it('health-checks /health on the port it exposes and the CMD listens on', () => {
    const check = execForm(image, 'HEALTHCHECK');
    assert.ok(check, 'HEALTHCHECK is in exec form');
    assert.equal(check[0], 'node', 'the slim image has no curl: node checks');
    const expose = runtimeStage(image).instructions.find((i) => i.getKeyword() === 'EXPOSE')!;
    const port = commandOf(image, expose).trim();
    assert.ok(check.join(' ').includes(`127.0.0.1:${port}/health`), `the check GETs /health on ${port}: ${check.join(' ')}`);
    const cmd = execForm(image, 'CMD')!;
    assert.equal(cmd[cmd.indexOf('--port') + 1], port, 'the CMD port is the exposed one');
  });

  it('installs the packed tarball the build stage made, as the packed-install test replays', () => {
    const steps = appInstallSteps(image);
    assert.ok(
      steps.some((s) => /npm install --omit=dev .*\/pack\/open-autoglm\.tgz/.test(s)),
      `the runtime stage installs the packed tarball: ${steps.join(' | ')}`,
    );
    const build = image.stages.find((s) => s.name === 'build')!;
    const pack = build.instructions.map((i) => commandOf(image, i)).find((c) => c.includes('npm pack'));
    assert.ok(pack?.includes('/pack/open-autoglm.tgz'), `the build stage packs to the path the runtime stage installs: ${pack}`);
  });

  it('the CUDA base named for the build argument carries the CUDA major the prebuilt CUDA binaries link', (t) => {
    const bins = join(repoRoot, 'node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda');
    if (!existsSync(bins)) return t.skip('node-llama-cpp has no CUDA prebuilt for this platform');
    const lib = readFileSync(join(bins, 'libggml-cuda.so')).toString('latin1');
    const major = /libcudart\.so\.(\d+)/.exec(lib)?.[1];
    assert.ok(major, 'the CUDA binary names its libcudart');
    const base = /RUNTIME_BASE=(nvidia\/cuda:(\d+)\.\d+\.\d+-runtime-\S+)/.exec(image.text);
    assert.ok(base, 'the Dockerfile documents a pinned nvidia/cuda runtime base for --build-arg RUNTIME_BASE');
    assert.equal(base[2], major, `${base[1]} has libcudart.so.${base[2]}; the binaries need libcudart.so.${major}`);
  });
});

describe('.dockerignore', () => {
  const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('keeps node_modules, git, build output and test output out of the build context', () => {
    for (const path of ['node_modules', '.git', 'dist', 'test-output', '*.gguf']) assert.ok(ignored.includes(path), `${path} is ignored`);
  });

  it('keeps everything the build stage copies', () => {
    const copies = image.dockerfile.getCOPYs().filter((c) => !c.getFlags().some((f) => f.getName() === 'from'));
    assert.ok(copies.length > 0, 'the build copies sources from the context');
    for (const copy of copies) {
      const words = commandOf(image, copy).split(/\s+/);
      for (const source of words.slice(0, -1)) {
        assert.ok(existsSync(join(repoRoot, source)), `COPY ${source}: exists in the repository`);
        const top = source.split('/')[0]!;
        assert.ok(!ignored.includes(top) && !ignored.includes(source), `COPY ${source}: not excluded by .dockerignore`);
      }
    }
  });
});
