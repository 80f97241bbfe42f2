// The dashboard in a real browser (Debian's Chromium through playwright-core): live numbers move under load, the
// replica and rollout tables fill in, and the playground streams an answer. A screenshot goes to test-output/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { Pool } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { repoRoot } from '../support/server.js';

describe('dashboard at /ui', () => {
  let gateway: GatewayServer;
  let browser: Browser;

  before(async () => {
    gateway = await serveGateway(parseGatewayConfig(`
database: ':memory:'
models:
  chat@v1: { replicas: [{ type: sim, id: blue, preset: instant, itlMs: 15, outputTokens: 24 }] }
  chat@v2: { replicas: [{ type: sim, id: green, preset: instant, itlMs: 15, outputTokens: 24 }] }
releases:
  chat: { stable: v1, canary: { version: v2, steps: [25, 100], holdSeconds: 600 } }
`), { serverOverrides: { port: 0 } });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  after(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('shows live numbers changing under load and streams a playground answer', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    await page.goto(`${gateway.url}/ui`);
    const total = page.getByTestId('total');
    await total.waitFor();
    assert.equal(await total.textContent(), '0');
    await page.getByText('green').waitFor();
    await page.getByText('ramping').waitFor();

    const pool = new Pool(gateway.url, { connections: 8 });
    const load = Array.from({ length: 40 }, async (_, i) => {
      const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', 'x-session-id': `s${i}` }, body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: `hello ${i}` }] }) });
      await res.body.dump();
    });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="total"]')?.textContent) >= 10, undefined, { timeout: 15_000 });
    await Promise.all(load);
    await pool.close();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="rps"]')?.textContent) > 0, undefined, { timeout: 10_000 });
    assert.match((await page.getByTestId('latency').textContent()) ?? '', /^\d+ \/ \d+$/);

    await page.getByLabel('message').fill('Tell me about the sea.');
    await page.getByRole('button', { name: 'Send' }).click();
    const answer = page.getByTestId('answer');
    // Text arrives piece by piece while the button says so, then the stream ends.
    await page.getByRole('button', { name: 'Streaming…' }).waitFor();
    await page.waitForFunction(() => (document.querySelector('[data-testid="answer"]')?.textContent ?? '').split(' ').length >= 24, undefined, { timeout: 15_000 });
    await page.getByRole('button', { name: 'Send' }).waitFor();
    assert.ok(((await answer.textContent()) ?? '').length > 20, "((await answer.textContent()) ?? '').length > 20");

    const out = join(repoRoot, 'test-output');
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, 'dashboard.png'), fullPage: true });
  });
});
