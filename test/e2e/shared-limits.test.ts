// Two gateway processes behind one Redis: one combined rate limit per tenant, and one shared response cache.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { runCli, until, type CliProcess } from '../support/processes.js';
import { startRedis } from '../support/redis.js';

describe('two gateway processes sharing one Redis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'autoglm-shared-'));
  const config = join(dir, 'gateway.yaml');
  let redis: Awaited<ReturnType<typeof startRedis>>;
  const gateways: (CliProcess & { url: string })[] = [];
  let key = '';
  let adminKey = '';
  const yaml = (rpm: number) =>
    [
      'auth: { enabled: true }',
      `database: ${join(dir, 'autoglm.db')}`,
      `redis: ${redis.url}`,
      'cache: { ttlSeconds: 60 }',
      'tenants:',
      `  acme: { limits: { requestsPerMinute: ${rpm} } }`,
      'models:',
      '  chat:',
      '    replicas:',
      '      - { type: sim, preset: instant, outputTokens: 8 }',
    ].join('\n');

  before(async () => {
    redis = await startRedis();
    writeFileSync(config, yaml(6));
    const cli = runCli(['keys', 'create', '--tenant', 'acme', '--config', config]);
    assert.equal(await cli.exited, 0, cli.err());
    key = cli.out().trim();
    const adminCli = runCli(['keys', 'create', '--tenant', 'ops', '--scope', 'admin', '--config', config]);
    assert.equal(await adminCli.exited, 0, adminCli.err());
    adminKey = adminCli.out().trim();
    for (let i = 0; i < 2; i++) {
      const proc = runCli(['serve', '--config', config, '--port', '0']);
      await until(() => /gateway at (http:\/\/[\d.:]+)\/v1/.test(proc.out()) || proc.child.exitCode !== null, 30_000);
      const url = /gateway at (http:\/\/[\d.:]+)\/v1/.exec(proc.out())?.[1];
      assert.ok(url, `gateway ${i} did not start: ${proc.err()}`);
      assert.match(proc.out(), /limits and cache shared through redis:/);
      gateways.push({ ...proc, url });
    }
  });

  after(() => {
    for (const g of gateways) g.child.kill('SIGTERM');
    redis?.stop();
  });

  const chat = (url: string, body: object = {}) =>
    request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hello' }], ...body }),
    });

  it('enforces one limit of 6 requests a minute across both processes', async () => {
    const statuses: number[] = [];
    const remaining: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await chat(gateways[i % 2]!.url);
      statuses.push(res.statusCode);
      if (res.statusCode === 200) remaining.push(String(res.headers['x-ratelimit-remaining-requests']));
      await res.body.dump();
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
    assert.deepEqual(remaining, ['5', '4', '3', '2', '1', '0']);
  });

  it('applies a changed limit from the config file on POST /admin/reload', async () => {
    writeFileSync(config, yaml(100));
    const reload = await request(`${gateways[0]!.url}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}` } });
    assert.equal(reload.statusCode, 200, await reload.body.text());
    const res = await chat(gateways[0]!.url);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-ratelimit-limit-requests'], '100');
    await res.body.dump();
  });

  it('answers from the cache one process filled when the other is asked', async () => {
    await redis.flush();
    const first = await chat(gateways[0]!.url, { temperature: 0, max_tokens: 8 });
    const second = await chat(gateways[1]!.url, { temperature: 0, max_tokens: 8 });
    assert.equal(first.headers['x-autoglm-cache'], 'miss');
    assert.equal(second.headers['x-autoglm-cache'], 'hit');
    type Answer = { choices: { message: { content: string } }[] };
    const [a, b] = [(await first.body.json()) as Answer, (await second.body.json()) as Answer];
    assert.equal(b.choices[0]!.message.content, a.choices[0]!.message.content);
  });
});
