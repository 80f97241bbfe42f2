// The gateway's operator commands as a user runs them: `config check`, `serve --config`'s banner, `keys list` and
// `rollout status`.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { runCli, until, type CliProcess } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-config-cli-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const env = (extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, AUTOGLM_DATA_DIR: dir, ...extra });

describe('autoglm config check', () => {
  it('lists every problem at its own line and column, and says which key a typo meant', async () => {
    const bad = file(
      'bad.yaml',
      [
        'models:',
        '  chat:',
        '    replicas:',
        '      - { tpye: sim, preset: instant }',
        '  other:',
        '    policy: round_robn',
        '    replicas:',
        '      - { type: sim, wieght: 2 }',
        '  third:',
        '    replicas:',
        '      - type: sim',
        '        preset: instant',
        '        outputTokns: 3',
        'servr: { port: 1 }',
        '',
      ].join('\n'),
    );
    const run = runCli(['config', 'check', bad], env());
    assert.equal(await run.exited, 1, run.err());
    assert.deepEqual(run.err().trimEnd().split('\n'), [
      `${bad}:4:11: models.chat.replicas[0]: unknown key 'tpye' (did you mean 'type'?)`,
      `${bad}:6:13: models.other.policy: 'round_robn' is not one of round_robin, weighted, least_outstanding, latency, prefix_aware (did you mean 'round_robin'?)`,
      `${bad}:8:22: models.other.replicas[0]: unknown key 'wieght' (did you mean 'weight'?)`,
      `${bad}:13:9: models.third.replicas[0]: unknown key 'outputTokns' (did you mean 'outputTokens'?)`,
      `${bad}:14:1: (top level): unknown key 'servr' (did you mean 'server'?)`,
      `autoglm: error: ${bad}: 5 problems`,
    ]);
    assert.equal(run.out(), '');
  });

  it('a valid config: counts replicas in good English and warns of an API key variable that is not set', async () => {
    const good = file(
      'good.yaml',
      [
        'models:',
        '  remote:',
        '    replicas:',
        '      - { type: openai, baseUrl: "http://127.0.0.1:9/v1", apiKeyEnv: AUTOGLM_TEST_UNSET_KEY }',
        '  local:',
        '    replicas: [{ type: sim }, { type: sim }]',
        '',
      ].join('\n'),
    );
    const run = runCli(['config', 'check', good], env({ AUTOGLM_TEST_UNSET_KEY: '' }));
    assert.equal(await run.exited, 0, run.err());
    assert.equal(run.out(), `${good}: ok: remote (1 replica, least_outstanding), local (2 replicas, least_outstanding)\n`);
    assert.match(
      run.err(),
      new RegExp(
        `^warning: ${good.replace(/[.]/g, '\\.')}:4:\\d+: models\\.remote\\.replicas\\[0\\]\\.apiKeyEnv: \\$AUTOGLM_TEST_UNSET_KEY is not set here; calls to this replica will carry no API key$`,
        'm',
      ),
    );
    const withKey = runCli(['config', 'check', good], env({ AUTOGLM_TEST_UNSET_KEY: 'sk-test' }));
    assert.equal(await withKey.exited, 0, withKey.err());
    assert.doesNotMatch(withKey.err(), /warning/);
  });
});

describe('autoglm serve --config, keys list, rollout status', () => {
  let gateway: CliProcess | undefined;
  after(() => gateway?.child.kill('SIGKILL'));

  it('the gateway banner has a curl command that works as pasted', async () => {
    const config = file('gateway.yaml', "database: ':memory:'\nmodels:\n  chat:\n    replicas: [{ type: sim, preset: instant, outputTokens: 8 }]\n");
    gateway = runCli(['serve', '--config', config, '--port', '0'], env());
    await until(() => /Ctrl-C/.test(gateway!.out()) || gateway!.child.exitCode !== null, 30_000);
    const curl = /^ {2}curl (http:\/\/127\.0\.0\.1:\d+)\/v1\/chat\/completions -H 'content-type: application\/json' -d '([^']+)'$/m.exec(gateway.out());
    assert.ok(curl, `a curl line in: ${gateway.out()}${gateway.err()}`);
    assert.equal((JSON.parse(curl[2]!) as { model: string }).model, 'chat');
    const res = await request(`${curl[1]}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: curl[2] });
    assert.equal(res.statusCode, 200);
    assert.ok(((await res.body.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content.length > 0, 'an answer');

    // rollout status without --url asks $AUTOGLM_URL (or the default) and says which server it asked.
    const status = runCli(['rollout', 'status'], env({ AUTOGLM_URL: curl[1] }));
    assert.equal(await status.exited, 0, status.err());
    assert.equal(status.out(), `no releases at ${curl[1]}\n`);
    const missing = runCli(['rollout', 'status', 'glm-4'], env({ AUTOGLM_URL: curl[1] }));
    assert.equal(await missing.exited, 1);
    assert.match(missing.err(), new RegExp(`^autoglm: error: ${curl[1]!.replace(/[.]/g, '\\.')} answered: `, 'm'));
  });

  it('a gateway whose rag index is missing is refused at start', async () => {
    const config = file(
      'rag.yaml',
      `database: ':memory:'\nmodels:\n  chat:\n    replicas: [{ type: sim, preset: instant }]\nreasoning:\n  retrieval: { index: ${join(dir, 'no-index.json')} }\n`,
    );
    const run = runCli(['serve', '--config', config, '--port', '0'], env());
    assert.equal(await run.exited, 1, run.err());
    assert.match(run.err(), /^autoglm: error: no index at .*no-index\.json; build one with `autoglm index add/m);
  });

  it("keys list shows each key's name, expiry and limits", async () => {
    const database = join(dir, 'keys.db');
    const create = runCli(
      ['keys', 'create', '--tenant', 'acme', '--name', 'ci-bot', '--expires-in-days', '30', '--limit', 'requestsPerMinute=60', '--database', database],
      env(),
    );
    assert.equal(await create.exited, 0, create.err());
    const plain = runCli(['keys', 'create', '--tenant', 'acme', '--database', database], env());
    assert.equal(await plain.exited, 0, plain.err());
    const list = runCli(['keys', 'list', '--database', database], env());
    assert.equal(await list.exited, 0, list.err());
    const [header, ...rows] = list.out().trimEnd().split('\n');
    assert.match(header!, /^id\s+tenant\s+name\s+scopes\s+status\s+created\s+expires\s+limits$/);
    const expires = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    assert.ok(
      rows.some((r) => new RegExp(`\\sacme\\s+ci-bot\\s+inference\\s+active\\s+\\d{4}-\\d\\d-\\d\\d\\s+${expires}\\s+requestsPerMinute=60$`).test(r)),
      list.out(),
    );
    assert.ok(
      rows.some((r) => /\sacme\s+-\s+inference\s+active\s+\S+\s+never\s+-$/.test(r)),
      list.out(),
    );
    const refused = runCli(['keys', 'create', '--tenant', 'acme', '--expires-in-days', 'soon', '--database', database], env());
    assert.equal(await refused.exited, 1);
    assert.match(refused.err(), /^autoglm: error: option '--expires-in-days <n>' argument 'soon' is invalid\. It must be a positive number\.$/m);
  });
});
