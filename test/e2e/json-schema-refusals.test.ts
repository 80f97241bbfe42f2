// A json_schema that llama.cpp's grammar cannot enforce as written (a $ref outside #/$defs, bounds that contradict
// each other) is the caller's 400 naming the schema, and `autoglm serve` prints nothing about it to the terminal.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { runCli, until, type CliProcess } from '../support/processes.js';
import { modelMirror } from '../support/server.js';

const unenforceable: [string, Record<string, unknown>][] = [
  ['a $ref to a root key that is not under $defs', { nope: { type: 'string' }, $ref: '#/nope' }],
  [
    'a $ref into draft-07 definitions',
    { definitions: { a: { type: 'string' } }, type: 'object', properties: { x: { $ref: '#/definitions/a' } }, required: ['x'] },
  ],
  ['a recursive $ref to the root', { type: 'object', properties: { x: { $ref: '#' } } }],
  ['maxLength below minLength', { type: 'object', properties: { x: { type: 'string', minLength: 5, maxLength: 2 } }, required: ['x'] }],
];

describe('json_schema refusals on `autoglm serve`', () => {
  let server: CliProcess;
  let url: string;
  const ask = async (schema: Record<string, unknown>) => {
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'stories260K',
        messages: [{ role: 'user', content: 'Describe a thing as JSON.' }],
        max_tokens: 16,
        response_format: { type: 'json_schema', json_schema: { name: 'thing', schema } },
      }),
    });
    return { status: res.statusCode, body: (await res.body.json()) as { error?: { message: string; type: string; param: string | null } } };
  };

  before(async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'autoglm-schema-'));
    server = runCli(['serve', '--model', 'stories260K', '--port', '0', '--threads', '1', '--parallel', '1'], {
      ...process.env,
      AUTOGLM_MODEL_MIRROR: modelMirror,
      AUTOGLM_CACHE_DIR: cacheDir,
    });
    await until(() => /Ctrl-C/.test(server.out()) || server.child.exitCode !== null, 60_000);
    url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(server.out())?.[1] ?? '';
    assert.ok(url, `the server started: ${server.err()}`);
  });
  after(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
  });

  for (const [what, schema] of unenforceable) {
    it(`${what}: 400 naming response_format.json_schema.schema`, async () => {
      const { status, body } = await ask(schema);
      assert.equal(status, 400, JSON.stringify(body));
      assert.equal(body.error?.type, 'invalid_request_error', JSON.stringify(body));
      assert.equal(body.error?.param, 'response_format.json_schema.schema', JSON.stringify(body));
      assert.match(body.error?.message ?? '', /^response_format\.json_schema\.schema is not supported: /);
    });
  }

  it('a $ref into $defs is still served', async () => {
    const { status, body } = await ask({ $defs: { name: { type: 'string' } }, type: 'object', properties: { n: { $ref: '#/$defs/name' } }, required: ['n'] });
    assert.equal(status, 200, JSON.stringify(body));
  });

  it('printed nothing from node-llama-cpp to the terminal', () => {
    assert.doesNotMatch(server.err(), /node-llama-cpp|Reference "/, 'stderr');
    assert.doesNotMatch(server.out(), /node-llama-cpp|Reference "/, 'stdout');
  });
});
