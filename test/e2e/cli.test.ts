// The `autoglm` command as a user runs it: banner, Ctrl-C drain, one-line failures, quantize and doctor.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { modelMirror, storiesPath } from '../support/server.js';
import { cliArgv } from '../support/cli-command.js';

let cacheDir: string;
before(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'autoglm-cli-'));
});

function autoglm(args: string[]): ChildProcess & { out: () => string; err: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, cliArgv(args), {
    cwd: cacheDir,
    env: { ...process.env, AUTOGLM_MODEL_MIRROR: modelMirror, AUTOGLM_CACHE_DIR: cacheDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return Object.assign(child, { out: () => out, err: () => err, exited });
}

async function until(what: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('autoglm serve', () => {
  let server: ReturnType<typeof autoglm>;
  let url: string;
  after(() => server?.kill('SIGKILL'));

  it('prints the URL, model, engine settings and a curl example', async () => {
    server = autoglm(['serve', '--port', '0', '--parallel', '2', '--threads', '1']);
    await until(() => /Ctrl-C/.test(server.out()));
    const out = server.out();
    url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out)![1]!;
    assert.ok(out.includes(storiesPath), 'out.includes(storiesPath)');
    assert.match(out, /parallel 2, context 2048\/sequence, threads 1/);
    assert.match(out, /curl http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
  });

  it('the printed curl example works as pasted', async () => {
    const body = /-d '([^']+)'/.exec(server.out())![1]!;
    const res = await request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(res.statusCode, 200);
    const json = (await res.body.json()) as { choices: { message: { content: string } }[] };
    assert.ok(json.choices[0]!.message.content.length > 0, 'json.choices[0]!.message.content.length > 0');
  });

  it('Ctrl-C lets a running stream finish, then exits 0', async () => {
    const res = await request(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', prompt: 'Once', max_tokens: 600, ignore_eos: true, stream: true, stream_options: { include_usage: true } }),
    });
    const chunks: string[] = [];
    let signalled = false;
    for await (const data of res.body) {
      chunks.push(String(data));
      if (!signalled) {
        server.kill('SIGINT');
        signalled = true;
      }
    }
    const text = chunks.join('');
    assert.ok(text.trimEnd().endsWith('data: [DONE]'), "text.trimEnd().endsWith('data: [DONE]')");
    assert.match(text, /"completion_tokens":600/);
    assert.equal(await server.exited, 0);
    // One message a line: each of the shutdown's lines is whole, not two run together.
    assert.match(server.err(), /^autoglm: SIGINT: draining in-flight requests \(up to \d+s; SIGINT again to force\)$/m);
    assert.ok(!/autoglm: .*autoglm: /.test(server.err()), `one message a line: ${server.err()}`);
    await assert.rejects(request(`${url}/health`), /ECONNREFUSED/);
  });
});

describe('autoglm failures are one line', () => {
  const oneLine = async (args: string[], expected: RegExp) => {
    const run = autoglm(args);
    assert.equal(await run.exited, 1);
    const lines = run
      .err()
      .split('\n')
      .filter((l) => l.startsWith('autoglm: error'));
    assert.equal(lines.length, 1, run.err());
    assert.match(lines[0]!, expected);
    assert.ok(!/\n\s+at /.test(run.err()), `no stack trace: ${run.err()}`);
  };

  it('a missing model', () => oneLine(['serve', '--model', 'no-such-model', '--port', '0'], /model 'no-such-model' not found/));

  it('a corrupt model', async () => {
    const bad = join(cacheDir, 'broken.gguf');
    const real = await import('node:fs/promises').then((fs) => fs.readFile(storiesPath));
    await writeFile(bad, real.subarray(0, 4096));
    await oneLine(['serve', '--model', bad, '--port', '0'], /cannot load model|not a GGUF/);
  });

  it('a bad setting names its flag', () => oneLine(['serve', '--parallel', '0', '--port', '0'], /invalid --parallel/));

  it('an address this machine cannot listen on names --host', async () => {
    await oneLine(
      ['serve', '--host', '256.1.1.1', '--port', '0'],
      /cannot listen on '256\.1\.1\.1': no such address or host name; give --host an address of this machine/,
    );
    await oneLine(['serve', '--host', '192.0.2.1', '--port', '0'], /cannot listen on '192\.0\.2\.1': not an address of this machine/);
  });
});

describe('autoglm quantize and doctor', () => {
  it('quantizes stories260K to q8_0: smaller file, a progress bar, and a sample that still reads as English', async () => {
    const out = join(cacheDir, 'stories.q8_0.gguf');
    const run = autoglm(['quantize', 'stories260K', out, '--type', 'q8_0', '--threads', '1']);
    assert.equal(await run.exited, 0, run.err());
    assert.ok(statSync(out).size < statSync(storiesPath).size / 2, 'statSync(out).size < statSync(storiesPath).size / 2');
    assert.match(run.out(), /MB\) -> .*stories\.q8_0\.gguf \([\d.]+ MB\), [\d.]+% of the size/);
    assert.match(run.out(), /sample \(greedy, 48 tokens\): "Once upon a time[^"]*\b(was|the|a)\b/);
    assert.match(run.out(), /, 48 tensors in /, 'progress comes from llama.cpp, tensor by tensor');
  });

  it('serve --quantize quantizes once into the cache and serves the result', async () => {
    const run = autoglm(['serve', '--port', '0', '--quantize', 'q8_0', '--parallel', '1']);
    try {
      await until(() => /Ctrl-C/.test(run.out()));
      assert.match(run.out(), /quantized.*stories260K\.q8_0\.gguf.*q8_0/);
      const url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(run.out())![1]!;
      const res = await request(`${url}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 8 }),
      });
      assert.equal(res.statusCode, 200);
      assert.equal(((await res.body.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens, 8);
    } finally {
      run.kill('SIGINT');
      await run.exited;
    }
  });

  it('doctor reports node, cpu, gpu backends and the models it finds', async () => {
    const run = autoglm(['doctor']);
    assert.equal(await run.exited, 0);
    assert.match(run.out(), /node\s+v\d+/);
    assert.match(run.out(), /cpu\s+.*cores; default threads \d+/);
    assert.match(run.out(), /gpu\s+usable here: /);
    assert.match(run.out(), /stories260K\.gguf \(1\.2 MB\)/);
  });
});
