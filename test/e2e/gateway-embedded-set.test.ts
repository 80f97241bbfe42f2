// A gateway config's embedded models loaded on demand (`embedded:`): two llama models, room for one at a time, a short
// keep-alive. Each loads on its first request, the other gives way (evicted), an idle one unloads by itself, and a
// request brings it back; /metrics counts every load and unload, as `serve -m A -m B` does.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { until } from '../support/processes.js';
import { modelMirror, storiesPath, testPaths } from '../support/server.js';

const tinyPath = resolve(modelMirror, 'llama-2-tiny-random.gguf');

describe('embedded models loaded on demand in a gateway config', () => {
  let gateway: GatewayServer;
  let client: OpenAI;

  before(async () => {
    const yaml = [
      'database: ":memory:"',
      'embedded: { keepAlive: 2, maxLoadedModels: 1 }',
      'models:',
      `  stories: { replicas: [{ type: llama, model: "${storiesPath}", threads: 1, contextSize: 256 }] }`,
      `  tiny: { replicas: [{ type: llama, model: "${tinyPath}", threads: 1, contextSize: 256 }] }`,
    ].join('\n');
    gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0 }, paths: testPaths() });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 120_000 });
  });
  after(() => gateway?.close());

  const metric = async (name: string, labels: string) => {
    const text = await (await request(`${gateway.url}/metrics`)).body.text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((kv) => l.includes(kv)));
    return Number(line?.split(' ').at(-1) ?? 0);
  };
  const ask = async (model: string) => {
    const answer = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 4, temperature: 0 });
    assert.ok(answer.choices[0]!.text.length > 0, `${model} answered`);
  };

  it('loads each on its first request, evicts the idle one for the other, unloads when idle, and loads again when asked', async () => {
    assert.equal(await metric('autoglm_model_loaded', 'model="stories"'), 0, 'nothing is loaded before a request');
    await ask('stories');
    assert.equal(await metric('autoglm_model_loaded', 'model="stories"'), 1, 'stories loaded on its first request');

    // Room for one: asking for tiny unloads stories, which is idle.
    await ask('tiny');
    assert.equal(await metric('autoglm_model_unloads_total', 'model="stories",reason="evicted"'), 1, 'stories gave way to tiny');
    assert.equal(await metric('autoglm_model_loaded', 'model="tiny"'), 1);

    // Idle for its keep-alive, tiny unloads by itself.
    await until(async () => (await metric('autoglm_model_unloads_total', 'model="tiny",reason="idle"')) === 1, 60_000, 100);
    assert.equal(await metric('autoglm_model_loaded', 'model="tiny"'), 0);

    await ask('stories');
    assert.equal(await metric('autoglm_model_loads_total', 'model="stories"'), 2, 'stories was loaded again');
  });
});
