// Reloading a gateway with embedded llama.cpp replicas frees the replaced ones: twelve reloads of two replicas on the
// real model leave no more llama.cpp instances behind (Node's beforeExit listeners, one per instance) than one load did.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { request } from 'undici';
import { loadGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { until } from '../support/processes.js';
import { storiesPath } from '../support/server.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-reload-leaks-'));
const file = join(dir, 'gateway.yaml');
const llama = `{ type: llama, model: ${storiesPath}, threads: 1, parallel: 1, contextSize: 256 }`;
const yaml = (generation: number) => `# generation ${generation}
database: ${join(dir, 'state.db')}
models:
  stories:
    replicas: [${llama}, ${llama}]
`;

describe('reloading embedded replicas', () => {
  let gateway: GatewayServer;
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);

  before(async () => {
    process.on('warning', onWarning);
    writeFileSync(file, yaml(0));
    gateway = await serveGateway(await loadGatewayConfig(file), { serverOverrides: { port: 0 }, configPath: file });
  });

  after(async () => {
    process.off('warning', onWarning);
    await gateway?.close();
  });

  it('frees the replaced replicas: no listener builds up over twelve reloads', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 60_000 });
    const ask = () => client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'Once' }], max_tokens: 4 });
    await ask();
    const baseline = process.listenerCount('beforeExit');
    for (let i = 1; i <= 12; i++) {
      writeFileSync(file, yaml(i));
      const res = await request(`${gateway.url}/admin/reload`, { method: 'POST' });
      assert.equal(res.statusCode, 200, `reload ${i}: ${await res.body.text()}`);
      await ask();
    }
    // The last replaced generation closes once its calls drain.
    await until(() => process.listenerCount('beforeExit') <= baseline, 60_000).catch(() => undefined);
    assert.ok(process.listenerCount('beforeExit') <= baseline, `beforeExit listeners grew from ${baseline} to ${process.listenerCount('beforeExit')}`);
    const leaks = warnings.filter((w) => w.name === 'MaxListenersExceededWarning');
    assert.deepEqual(
      leaks.map((w) => w.message),
      [],
      'no MaxListenersExceededWarning',
    );
    assert.ok((await ask()).choices[0]?.message.content, 'the last generation still answers');
  });
});
