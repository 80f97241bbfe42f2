// A replica of the zhipu or openai preset sends the key from the preset's variable (ZHIPU_API_KEY, OPENAI_API_KEY)
// unless it names its own apiKeyEnv, and `autoglm config check` warns when the variable it will read is unset.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { runCli, until, type CliProcess } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-preset-keys-'));

/** An OpenAI-compatible upstream that answers every chat and notes the Authorization header of each, per model. */
const seen = new Map<string, (string | undefined)[]>();
const upstream = createServer((req, res) => {
  if (req.method === 'GET') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    const { model } = JSON.parse(body) as { model: string };
    seen.set(model, [...(seen.get(model) ?? []), req.headers.authorization]);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 0,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
      }),
    );
  });
});

function configFile(name: string, baseUrl: string): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `database: ':memory:'
models:
  glm:
    replicas:
      - { type: openai, preset: zhipu, baseUrl: '${baseUrl}', upstreamModel: glm-up }
  gpt:
    replicas:
      - { type: openai, preset: openai, baseUrl: '${baseUrl}', upstreamModel: gpt-up }
  own:
    replicas:
      - { type: openai, preset: zhipu, baseUrl: '${baseUrl}', upstreamModel: own-up, apiKeyEnv: OWN_KEY }
`,
  );
  return file;
}

describe('API keys from an upstream preset', () => {
  let gateway: CliProcess;
  let url: string;
  let file: string;

  before(async () => {
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    file = configFile('gateway.yaml', `http://127.0.0.1:${(upstream.address() as { port: number }).port}/v1`);
    gateway = runCli(['serve', '--config', file, '--port', '0'], {
      ...process.env,
      ZHIPU_API_KEY: 'zhipu-secret',
      OPENAI_API_KEY: 'openai-secret',
      OWN_KEY: 'own-secret',
    });
    await until(() => /Ctrl-C/.test(gateway.out()) || gateway.child.exitCode !== null, 60_000);
    url = /gateway at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(gateway.out())?.[1] ?? '';
    assert.ok(url, `the gateway started: ${gateway.err()}`);
  });
  after(async () => {
    gateway?.child.kill('SIGTERM');
    await gateway?.exited;
    upstream.close();
  });

  const chat = async (model: string) => {
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.statusCode, 200, await res.body.text());
    await res.body.dump();
  };

  it('a zhipu replica sends $ZHIPU_API_KEY and an openai one $OPENAI_API_KEY, when they name no apiKeyEnv of their own', async () => {
    await chat('glm');
    await chat('gpt');
    assert.deepEqual(seen.get('glm-up'), ['Bearer zhipu-secret']);
    assert.deepEqual(seen.get('gpt-up'), ['Bearer openai-secret']);
  });

  it("a replica's own apiKeyEnv wins over its preset's", async () => {
    await chat('own');
    assert.deepEqual(seen.get('own-up'), ['Bearer own-secret']);
  });

  it('`config check` warns of the preset variable that is not set, at the replica', async () => {
    const env = { ...process.env };
    delete env.ZHIPU_API_KEY;
    delete env.OPENAI_API_KEY;
    delete env.OWN_KEY;
    const check = runCli(['config', 'check', file], { ...env, OPENAI_API_KEY: 'set' });
    assert.equal(await check.exited, 0, check.err());
    const warnings = check.err().trim().split('\n');
    assert.equal(warnings.length, 2, check.err());
    assert.match(
      warnings[0]!,
      /gateway\.yaml:5:\d+: models\.glm\.replicas\[0\]\.preset: \$ZHIPU_API_KEY is not set here; calls to this replica will carry no API key/,
    );
    assert.match(warnings[1]!, /gateway\.yaml:11:\d+: models\.own\.replicas\[0\]\.apiKeyEnv: \$OWN_KEY is not set here/);
  });
});
