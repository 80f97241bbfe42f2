// The dashboard in a real browser (Debian's Chromium through playwright-core): the charts are drawn at once, live
// numbers move under load (time to first token of whole answers included), the replica and rollout tables fill in and
// fit their cards, nothing the page asks for is missing, and the playground streams an answer. Screenshots go to
// test-output/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Pool, request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { repoRoot } from '../support/server.js';

describe('dashboard at /ui', () => {
  let gateway: GatewayServer;
  let browser: Browser;

  before(async () => {
    gateway = await serveGateway(
      parseGatewayConfig(`
database: ':memory:'
models:
  chat@2025-06: { replicas: [{ type: sim, id: "blue.gpu-pool.internal:8000", preset: instant, itlMs: 15, outputTokens: 24 }] }
  chat@2025-07: { replicas: [{ type: sim, id: "green.gpu-pool.internal:8000", preset: instant, itlMs: 15, outputTokens: 24 }] }
releases:
  chat: { stable: 2025-06, canary: { version: 2025-07, steps: [25, 100], holdSeconds: 600 } }
`),
      { serverOverrides: { port: 0 } },
    );
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  after(async () => {
    await browser?.close();
    await gateway?.close();
  });

  /** Canvas pixels something was drawn on: a chart that waits for data draws nothing. */
  const inkedPixels = (page: Page) =>
    page.evaluate(() =>
      [...document.querySelectorAll('section canvas')].map((c) => {
        const canvas = c as HTMLCanvasElement;
        const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let inked = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) inked++;
        return inked;
      }),
    );

  /** What a person would see as broken layout: cards whose content spills out, numbers broken over two lines. */
  const layout = (page: Page) =>
    page.evaluate(() => ({
      overflowing: [...document.querySelectorAll('section')].filter((s) => s.scrollWidth > s.clientWidth + 1).map((s) => s.querySelector('h2')?.textContent),
      wrapped: [...document.querySelectorAll('.kpi .value')]
        .filter((v) => {
          const range = document.createRange();
          range.selectNodeContents(v);
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
        })
        .map((v) => v.textContent),
      columns: new Set([...document.querySelectorAll('main > section')].map((s) => Math.round(s.getBoundingClientRect().left))).size,
    }));

  it('shows live numbers changing under load and streams a playground answer', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    const missing: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) missing.push(`${r.status()} ${r.url()}`);
    });
    // The first numbers are held back until the first frame is checked: it has both charts, axes and all, already.
    let release!: () => void;
    const firstNumbers = new Promise<void>((r) => (release = r));
    await page.route('**/admin/stats', async (route) => {
      await firstNumbers;
      await route.continue();
    });
    await page.goto(`${gateway.url}/ui`);
    const firstFrame = await inkedPixels(page);
    release();
    assert.equal(firstFrame.length, 2, 'two charts on the first frame');
    assert.ok(
      firstFrame.every((n) => n > 500),
      `the charts are drawn at once: ${firstFrame.join(', ')} inked pixels`,
    );
    const total = page.getByTestId('total');
    await total.waitFor();
    assert.equal(await total.textContent(), '0');
    await page.getByText('green').waitFor();
    await page.getByText('ramping').waitFor();

    const pool = new Pool(gateway.url, { connections: 8 });
    const load = Array.from({ length: 40 }, async (_, i) => {
      const res = await pool.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-session-id': `s${i}` },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: `hello ${i}` }] }),
      });
      await res.body.dump();
    });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="total"]')?.textContent) >= 10, undefined, { timeout: 15_000 });
    await Promise.all(load);
    await pool.close();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="rps"]')?.textContent) > 0, undefined, { timeout: 10_000 });
    assert.match((await page.getByTestId('latency').textContent()) ?? '', /^\d+ \/ \d+$/);
    // Every call was a whole answer, and each still had a first token: the dashboard shows when it came.
    assert.match((await page.getByTestId('ttft').textContent()) ?? '', /^\d+$/);
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('[data-testid="replicas"] tr')].some(
          (tr) => tr.textContent?.includes('blue') && /\d$/.test(tr.lastElementChild?.textContent ?? ''),
        ),
      undefined,
      { timeout: 10_000 },
    );
    const wide = await layout(page);
    assert.deepEqual([wide.overflowing, wide.wrapped], [[], []], 'nothing spills out of its card or breaks over two lines');

    await page.getByLabel('message').fill('Tell me about the sea.');
    await page.getByRole('button', { name: 'Send' }).click();
    const answer = page.getByTestId('answer');
    // Text arrives piece by piece while the button says so, then the stream ends.
    await page.getByRole('button', { name: 'Streaming…' }).waitFor();
    await page.waitForFunction(() => (document.querySelector('[data-testid="answer"]')?.textContent ?? '').split(' ').length >= 24, undefined, {
      timeout: 15_000,
    });
    await page.getByRole('button', { name: 'Send' }).waitFor();
    assert.ok(((await answer.textContent()) ?? '').length > 20, "((await answer.textContent()) ?? '').length > 20");

    const out = join(repoRoot, 'test-output');
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, 'dashboard.png'), fullPage: true });
    assert.deepEqual(missing, [], 'everything the page asked for was there (its icon included)');
    const icon = await request(`${gateway.url}/favicon.ico`);
    assert.equal(icon.statusCode, 200);
    assert.match(String(icon.headers['content-type']), /^image\/svg\+xml/);
    await icon.body.dump();
  });

  it("streams the playground's prompt in each API the server speaks: Responses and Anthropic Messages as well as chat", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    await page.goto(`${gateway.url}/ui`);
    const answer = page.getByTestId('answer');
    for (const api of ['Responses', 'Anthropic Messages']) {
      await page.getByLabel('API').selectOption({ label: api });
      await page.getByLabel('message').fill(`Tell me about the sea, in ${api}.`);
      await page.getByRole('button', { name: 'Send' }).click();
      await page.getByRole('button', { name: 'Streaming…' }).waitFor();
      // The simulator answers 24 words; each dialect's text deltas must all reach the page.
      await page.waitForFunction(() => (document.querySelector('[data-testid="answer"]')?.textContent ?? '').trim().split(/\s+/).length >= 24, undefined, {
        timeout: 15_000,
      });
      await page.getByRole('button', { name: 'Send' }).waitFor();
      assert.equal(await page.locator('.playground .error').count(), 0, `no error shown for ${api}`);
      assert.ok(((await answer.textContent()) ?? '').length > 20, `${api}: the answer is on the page`);
    }
    await page.close();
  });

  it('fits two columns of cards at 960 px, and shows an aborted rollout as stopped, not healthy', async () => {
    const abort = await request(`${gateway.url}/admin/rollouts/chat/abort`, { method: 'POST' });
    assert.equal(abort.statusCode, 200);
    await abort.body.dump();
    const page = await browser.newPage({ viewport: { width: 960, height: 1000 } });
    await page.goto(`${gateway.url}/ui`);
    const status = page.locator('section', { has: page.getByRole('heading', { name: 'Rollouts' }) }).getByText('aborted');
    await status.waitFor();
    const [color, green] = await status.evaluate((el) => {
      const probe = document.createElement('span');
      probe.className = 'ok';
      document.body.append(probe);
      return [getComputedStyle(el).color, getComputedStyle(probe).color];
    });
    assert.notEqual(color, green, `'aborted' is drawn in ${color}, the colour of a healthy state`);
    await page.getByText('green').waitFor();
    const narrow = await layout(page);
    assert.equal(narrow.columns, 2, 'two columns of cards');
    assert.deepEqual(narrow.overflowing, [], 'cards whose content spills out');
    assert.deepEqual(narrow.wrapped, [], 'numbers broken over two lines');
    await page.screenshot({ path: join(repoRoot, 'test-output', 'dashboard-960.png'), fullPage: true });
  });
});
