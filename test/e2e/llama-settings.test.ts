// The engine settings llama-server users expect, given as `autoglm serve` flags: each reaches node-llama-cpp (the
// banner reports what llama.cpp applied), and a value that cannot be honoured is refused in one line, exit 1.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { modelCli, type Run, until } from '../support/model-cli.js';
import { modelMirror } from '../support/server.js';
import { cliArgv } from '../support/cli-command.js';

let home: string;
before(async () => {
  home = await mkdtemp(join(tmpdir(), 'autoglm-llama-settings-'));
});
const mirror = { AUTOGLM_MODEL_MIRROR: modelMirror };
const { autoglm, refused } = modelCli(() => ({ home, hubUrl: 'http://127.0.0.1:9' }));
const cache = () => join(home, 'cache');
const base = ['serve', '--model', 'stories260K', '--port', '0', '--threads', '1', '--parallel', '1', '--gpu', 'off'];

const running = new Set<Run>();
after(() => {
  for (const r of running) r.kill('SIGKILL');
});

/** Starts serve, waits for its banner, and returns the banner's settings line and the URL. */
async function serve(args: string[]): Promise<{ run: Run; settings: string; url: string }> {
  const run = autoglm([...base, ...args], cache(), mirror);
  running.add(run);
  await until(() => /Ctrl-C/.test(run.out()) || run.exitCode !== null, 110_000);
  assert.match(run.out(), /Ctrl-C/, `serve started: ${run.err()}`);
  const settings = /^ {2}settings .*$/m.exec(run.out())?.[0] ?? '';
  const url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(run.out())![1]!;
  return { run, settings, url };
}

async function stop(run: Run): Promise<void> {
  run.kill('SIGTERM');
  await run.exited;
  running.delete(run);
}

async function completion(url: string, prompt: string): Promise<string> {
  const res = await request(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'stories260K', prompt, max_tokens: 24, temperature: 0 }),
  });
  assert.equal(res.statusCode, 200, 'the completion is served');
  return ((await res.body.json()) as { choices: { text: string }[] }).choices[0]!.text;
}

describe('engine settings flags', { timeout: 600_000 }, () => {
  it('reports llama.cpp’s own choices by default', async () => {
    const { run, settings } = await serve([]);
    try {
      assert.match(settings, /gpu-layers 0, flash-attention off, kv-cache f16\/f16, batch \d+, mmap on, mlock off, speculative off$/, settings);
    } finally {
      await stop(run);
    }
  });

  it('applies every flag given, and still serves the same answer', async () => {
    const plain = await serve([]);
    const expected = await completion(plain.url, 'Once upon a time, Lily had a cat. Once upon a time, Lily');
    await stop(plain.run);
    const { run, settings, url } = await serve([
      '--gpu-layers',
      '0',
      '--flash-attention',
      'on',
      // stories260K's heads (8 wide) are narrower than a quantized block: types of full width are what it can take.
      '--kv-cache-key-type',
      'f32',
      '--kv-cache-value-type',
      'bf16',
      '--batch-size',
      '64',
      '--no-mmap',
      '--mlock',
      '--speculative',
      'lookup',
      '--draft-tokens',
      '4',
    ]);
    try {
      assert.equal(settings, '  settings gpu-layers 0, flash-attention on, kv-cache f32/bf16, batch 64, mmap off, mlock on, speculative lookup');
      assert.ok((await completion(url, 'Once upon a time, Lily had a cat. Once upon a time, Lily')).length > 0, 'another KV cache type still answers');
    } finally {
      await stop(run);
    }
    // Lookup alone changes no answer (the KV cache types above may: they are left out here).
    const lookup = await serve(['--speculative', 'lookup']);
    try {
      assert.equal(await completion(lookup.url, 'Once upon a time, Lily had a cat. Once upon a time, Lily'), expected, 'the same answer with lookup');
    } finally {
      await stop(lookup.run);
    }
  });

  it('serves with a draft model of the same vocabulary, and says so', async () => {
    const { run, settings } = await serve(['--draft-model', 'stories260K']);
    try {
      assert.match(settings, /speculative draft \S*stories260K\.gguf$/, settings);
    } finally {
      await stop(run);
    }
  });
});

describe('engine settings refusals', { timeout: 600_000 }, () => {
  const cases: [string, string[], RegExp][] = [
    ['GPU layers without a GPU', ['--gpu-layers', '8'], /--gpu-layers 8 needs a GPU, and llama\.cpp runs on the CPU here/],
    ['all GPU layers without a GPU', ['--gpu-layers', 'max'], /--gpu-layers max needs a GPU/],
    ['a GPU layer count that is no number', ['--gpu-layers', 'many'], /--gpu-layers <n>' argument 'many' is invalid/],
    ['an unknown flash attention mode', ['--flash-attention', 'yes'], /--flash-attention <mode>' argument 'yes' is invalid/],
    ['an unknown KV-cache type', ['--kv-cache-key-type', 'q9_9'], /--kv-cache-key-type <type>' argument 'q9_9' is invalid/],
    ['an unknown speculative mode', ['--speculative', 'guess'], /--speculative <mode>' argument 'guess' is invalid/],
    ['draft mode without a draft model', ['--speculative', 'draft'], /--speculative draft needs --draft-model/],
    ['a draft model with lookup', ['--speculative', 'lookup', '--draft-model', 'stories260K'], /--draft-model is used only with --speculative draft/],
    [
      'a KV-cache type the model cannot take',
      ['--kv-cache-key-type', 'q4_0', '--kv-cache-value-type', 'q4_0', '--flash-attention', 'on'],
      /cannot make a context for .*stories260K\.gguf: .*a quantized KV cache needs flash attention/,
    ],
    ['no draft tokens', ['--speculative', 'lookup', '--draft-tokens', '0'], /--draft-tokens <n>' argument '0' is invalid/],
    ['a draft model of another vocabulary', ['--draft-model', 'llama-2-tiny-random'], /does not share the vocabulary .*\(512 vs 32000 tokens\)/],
  ];
  for (const [what, args, pattern] of cases) {
    it(`refuses ${what} in one line`, async () => {
      await refused([...base, ...args], cache(), pattern, mirror);
    });
  }
});

// A process held to a small RLIMIT_MEMLOCK and without CAP_IPC_LOCK, as an unprivileged user runs it.
const canConfine = spawnSync('sh', ['-c', 'command -v prlimit && command -v setpriv']).status === 0;
describe('--mlock without the privilege', { timeout: 600_000, skip: canConfine ? false : 'needs prlimit and setpriv' }, () => {
  it('is refused in one line naming the limit, exit 1', async () => {
    const child = spawn(
      'prlimit',
      ['--memlock=65536', 'setpriv', '--bounding-set', '-ipc_lock', '--inh-caps', '-ipc_lock', process.execPath, ...cliArgv([...base, '--mlock'])],
      { cwd: home, env: { ...process.env, ...mirror, AUTOGLM_CACHE_DIR: cache(), AUTOGLM_DATA_DIR: join(home, 'data') }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    // A server that started anyway (the lock silently not held) is stopped, and fails the test.
    const guard = setTimeout(() => child.kill('SIGKILL'), 100_000);
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    clearTimeout(guard);
    const lines = err.split('\n').filter((l) => l.startsWith('autoglm: error:'));
    assert.equal(code, 1, `exit 1: ${err}`);
    assert.equal(lines.length, 1, `one line: ${err}`);
    assert.match(lines[0]!, /--mlock cannot lock .*stories260K\.gguf \(\d+ bytes\): this process may lock only 65536 bytes/);
    assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
  });
});
