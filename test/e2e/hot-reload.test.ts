// Hot reload: the config file is edited while streams run on the embedded model and a sim pool; nothing is dropped,
// the new config serves, and a broken config is refused with its reason while the running one stays.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import { loadGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { until } from '../support/processes.js';
import { storiesPath } from '../support/server.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-reload-'));
const file = join(dir, 'gateway.yaml');
const yaml = (extra: string) => `
database: ${join(dir, 'state.db')}
models:
  stories:
    replicas: [{ type: llama, model: ${storiesPath}, threads: 1, parallel: 2 }]
  chat:
    replicas: [{ type: sim, preset: instant, itlMs: 5, outputTokens: 40 }]
${extra}`;

describe('hot reload', () => {
  let gateway: GatewayServer;
  const models = async () => ((await (await request(`${gateway.url}/v1/models`)).body.json()) as { data: { id: string }[] }).data.map((m) => m.id);

  before(async () => {
    writeFileSync(file, yaml(''));
    gateway = await serveGateway(await loadGatewayConfig(file), { serverOverrides: { port: 0 }, configPath: file, watch: true });
  });

  after(async () => {
    await gateway?.close();
  });

  it('takes a new config while streams run, dropping none of them', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 20_000 });
    let stop = false;
    const results = { ok: 0, failed: [] as string[] };
    const worker = async (model: string) => {
      while (!stop) {
        try {
          const stream = await client.chat.completions.create({
            model,
            messages: [{ role: 'user', content: 'Once' }],
            max_tokens: 40,
            stream: true,
            ignore_eos: true,
          } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
          let finish: string | null = null;
          let text = '';
          for await (const chunk of stream) {
            text += chunk.choices[0]?.delta.content ?? '';
            finish = chunk.choices[0]?.finish_reason ?? finish;
          }
          if (finish && text.length > 0) results.ok++;
          else results.failed.push(`${model}: ended without finishing (${finish})`);
        } catch (err) {
          results.failed.push(`${model}: ${String(err)}`);
        }
      }
    };
    const workers = [worker('stories'), worker('stories'), worker('chat'), worker('chat'), worker('chat')];
    await new Promise((r) => setTimeout(r, 300));
    const before = results.ok;
    writeFileSync(file, yaml('  extra:\n    replicas: [{ type: sim, preset: instant }]\n'));
    await until(async () => (await models()).includes('extra'), 15_000, 50);
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(workers);
    assert.deepEqual(results.failed, []);
    assert.ok(results.ok > before + 5, `streams kept completing across the reload (${before} before, ${results.ok} in all)`);
    const status = (await (await request(`${gateway.url}/admin/config`)).body.json()) as { reload: { generation: number; lastError: string | null } };
    assert.equal(status.reload.generation, 2);
    assert.equal(status.reload.lastError, null);
  });

  it('refuses a broken config with its reason and keeps serving the running one', async () => {
    writeFileSync(file, yaml('  broken:\n    replicas: [{ type: sim, preset: nonsense }]\n'));
    const res = await request(`${gateway.url}/admin/reload`, { method: 'POST' });
    assert.equal(res.statusCode, 400);
    const error = ((await res.body.json()) as { error: { message: string; code: string } }).error;
    assert.equal(error.code, 'invalid_config');
    assert.match(error.message, /gateway\.yaml:\d+:\d+: models\.broken\.replicas\[0\]\.preset/);
    await until(async () => {
      const status = (await (await request(`${gateway.url}/admin/config`)).body.json()) as { reload: { lastError: string | null } };
      return /preset/.test(status.reload.lastError ?? '');
    }, 5000);
    assert.ok((await models()).includes('extra'), 'the running config stays');
    const answer = await request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'extra', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }),
    });
    assert.equal(answer.statusCode, 200);
    await answer.body.dump();
  });

  it('keeps following the file across rename-style saves (os.replace, sed -i, vim), each one reloading', async () => {
    const generation = async () => ((await (await request(`${gateway.url}/admin/config`)).body.json()) as { reload: { generation: number } }).reload.generation;
    const extra = (name: string) => `  extra:\n    replicas: [{ type: sim, preset: instant }]\n  ${name}:\n    replicas: [{ type: sim, preset: instant }]\n`;
    const saves: [string, (name: string) => void][] = [
      // A new file renamed over the old one: os.replace, atomic writers, most IDEs.
      [
        'rename over',
        (name) => {
          writeFileSync(`${file}.tmp`, yaml(extra(name)));
          renameSync(`${file}.tmp`, file);
        },
      ],
      [
        'rename over again',
        (name) => {
          writeFileSync(join(dir, '.gateway.yaml.swp'), yaml(extra(name)));
          renameSync(join(dir, '.gateway.yaml.swp'), file);
        },
      ],
      // sed -i writes a temporary file and renames it over the original.
      ['sed -i', (name) => execFileSync('sed', ['-i', `s/^  renamed[0-9]*:$/  ${name}:/`, file])],
      // vim's default: the original is renamed to a backup, then a new file is written under the old name.
      [
        'vim',
        (name) => {
          renameSync(file, `${file}~`);
          writeFileSync(file, yaml(extra(name)));
        },
      ],
      ['plain write after all of them', (name) => writeFileSync(file, yaml(extra(name)))],
    ];
    for (const [index, [how, save]] of saves.entries()) {
      const before = await generation();
      const name = `renamed${index}`;
      save(name);
      await until(async () => (await models()).includes(name), 20_000, 50).catch(() => {
        throw new Error(`the save by ${how} was not picked up (generation stayed ${before})`);
      });
      assert.ok((await generation()) > before, `${how}: the generation moved past ${before}`);
    }
  });
});

describe('hot reload of a Kubernetes ConfigMap', () => {
  // A mounted ConfigMap as the kubelet lays it out: the file is a link through `..data` to a folder of this version's
  // files, and an update writes a new folder and swaps `..data` over to it in one rename.
  const mount = mkdtempSync(join(tmpdir(), 'autoglm-configmap-'));
  const config = join(mount, 'gateway.yaml');
  const version = (n: number, models: string) => {
    const folder = join(mount, `..2026_v${n}`);
    mkdirSync(folder);
    writeFileSync(join(folder, 'gateway.yaml'), `database: ${join(mount, 'state.db')}\nmodels:\n${models}`);
    symlinkSync(`..2026_v${n}`, join(mount, '..data_tmp'));
    renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
  };
  let gateway: GatewayServer;
  after(async () => {
    await gateway?.close();
  });

  it('takes each new version of the ConfigMap', async () => {
    version(1, '  first:\n    replicas: [{ type: sim, preset: instant }]\n');
    symlinkSync('..data/gateway.yaml', config);
    gateway = await serveGateway(await loadGatewayConfig(config), { serverOverrides: { port: 0 }, configPath: config, watch: true });
    const models = async () => ((await (await request(`${gateway.url}/v1/models`)).body.json()) as { data: { id: string }[] }).data.map((m) => m.id);
    assert.deepEqual(await models(), ['first']);
    version(2, '  second:\n    replicas: [{ type: sim, preset: instant }]\n');
    await until(async () => (await models()).includes('second'), 20_000, 50).catch(() => {
      throw new Error('the swapped ConfigMap was not picked up');
    });
    assert.deepEqual(await models(), ['second']);
  });
});
