// `autoglm serve` logs one line per request by default, for one model and for a gateway config; --log-level warn
// keeps only failures; the banner says which; and a pretty access line is words a person reads, not a JSON tail.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { runCli, until, type CliProcess } from '../support/processes.js';
import { modelMirror } from '../support/server.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-log-level-'));
const config = join(dir, 'gateway.yaml');
writeFileSync(
  config,
  `database: ':memory:'
models:
  chat:
    replicas:
      - { type: sim, id: blue, preset: instant, outputTokens: 4 }
`,
);
const env = { ...process.env, AUTOGLM_MODEL_MIRROR: modelMirror, AUTOGLM_CACHE_DIR: dir };

describe('the request log of `autoglm serve`', () => {
  const procs: CliProcess[] = [];
  after(async () => {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
  });

  /** Starts serve, sends one chat with a known request id, and waits until the server has answered it. */
  async function serve(args: string[], id: string, model: string): Promise<CliProcess> {
    const proc = runCli(['serve', '--port', '0', ...args], env);
    procs.push(proc);
    await until(() => /Ctrl-C/.test(proc.out()) || proc.child.exitCode !== null, 60_000);
    const url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(proc.out())?.[1];
    assert.ok(url, `serve started: ${proc.err()}`);
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 4 }),
    });
    assert.equal(res.statusCode, 200, await res.body.text());
    await res.body.dump();
    return proc;
  }
  const linesWith = (proc: CliProcess, id: string) =>
    proc
      .err()
      .split('\n')
      .filter((l) => l.includes(id));

  it('one model, no --log-level: the request has its line, and the banner says so', async () => {
    const proc = await serve(['--threads', '1', '--parallel', '1'], 'probe-model-default', 'stories260K');
    await until(() => linesWith(proc, 'probe-model-default').length > 0, 10_000);
    const line = JSON.parse(linesWith(proc, 'probe-model-default')[0]!) as Record<string, unknown>;
    assert.deepEqual([line.level, line.method, line.route, line.status, line.model], [30, 'POST', '/v1/chat/completions', 200, 'stories260K']);
    assert.match(proc.out(), /^ {2}log {6}info on stderr: one line per request/m);
  });

  it('a gateway config, no --log-level: the request has its line', async () => {
    const proc = await serve(['--config', config], 'probe-gateway-default', 'chat');
    await until(() => linesWith(proc, 'probe-gateway-default').length > 0, 10_000);
    const line = JSON.parse(linesWith(proc, 'probe-gateway-default')[0]!) as Record<string, unknown>;
    assert.deepEqual([line.method, line.status, line.replica], ['POST', 200, 'blue']);
    assert.match(proc.out(), /^ {2}log {6}info on stderr/m);
  });

  it('--log-level warn: a request that went well has no line, and the banner says failures only', async () => {
    const proc = await serve(['--config', config, '--log-level', 'warn'], 'probe-gateway-warn', 'chat');
    // Everything the process had to say is said by the time it has drained and exited.
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0, proc.err());
    assert.deepEqual(linesWith(proc, 'probe-gateway-warn'), []);
    assert.match(proc.out(), /^ {2}log {6}warn on stderr: failures only/m);
  });

  it('pretty: the access line is words, with no JSON tail', async () => {
    const proc = await serve(['--config', config, '--log-format', 'pretty'], 'probe-gateway-pretty', 'chat');
    await until(() => linesWith(proc, 'probe-gateway-pretty').length > 0, 10_000);
    const [line] = linesWith(proc, 'probe-gateway-pretty');
    assert.match(line!, /INFO: POST \/v1\/chat\/completions 200 [\d.]+ms probe-gateway-pretty tenant=anonymous model=chat replica=blue tokens=\d+\+4$/, line);
  });
});
