// The dashboard's prompt panel in a real Chromium: a prompt whose versions a bandit shares traffic between shows each
// version's share and mean feedback score, and a line per version of its share over time.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { until } from '../support/processes.js';
import { repoRoot } from '../support/server.js';

const BUCKET_MS = 10_000;

describe('dashboard: prompt versions', () => {
  let gateway: GatewayServer;
  let browser: Browser;

  before(async () => {
    const yaml = [
      'database: ":memory:"',
      'models:',
      '  chat: { replicas: [{ type: sim, preset: instant, outputTokens: 3 }] }',
      'prompts:',
      '  greeter:',
      '    versions:',
      "      '1': { instructions: 'Greet the user.' }",
      "      '2': { instructions: 'Greet the user warmly.' }",
      // Each version keeps at least 45% of the traffic, so both are served in each burst of 20 (else one version's
      // line may have a single point: at a floor of 0.1 the worse one missed a burst about one run in eight).
      '    bandit: { floor: 0.45 }',
    ].join('\n');
    gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0 } });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  after(async () => {
    await browser?.close();
    await gateway?.close();
  });

  /** One request with the prompt, and feedback on it: version 2's answers are scored 1, version 1's 0. */
  const askAndScore = async () => {
    const res = await request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], reasoning: { prompt: 'greeter' } }),
    });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    const version = String(res.headers['x-autoglm-prompt']);
    const feedback = await request(`${gateway.url}/v1/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_id: res.headers['x-request-id'], score: version === 'greeter@2' ? 1 : 0 }),
    });
    await feedback.body.dump();
    assert.equal(feedback.statusCode, 201);
  };

  it("shows each version's share and mean score, and its share over time", async () => {
    // Traffic in two time buckets, so that there is a line to draw: some now, the rest once the clock has moved on.
    const startBucket = Math.floor(Date.now() / BUCKET_MS);
    for (let i = 0; i < 20; i++) await askAndScore();
    await until(() => Math.floor(Date.now() / BUCKET_MS) > startBucket, 30_000, 100);
    for (let i = 0; i < 20; i++) await askAndScore();

    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    await page.goto(`${gateway.url}/ui`);
    const panel = page.getByTestId('prompt-arms');
    await panel.waitFor();
    await panel.getByText('greeter').waitFor();
    const shares = (await panel.getByTestId('arm-share').allTextContents()).map((t) => Number.parseInt(t, 10));
    assert.equal(shares.length, 2, 'a row per version');
    assert.ok(Math.abs(shares[0]! + shares[1]! - 100) <= 1, `shares add up to 100% (${shares.join(' + ')})`);
    // Version 1 was scored 0 and version 2 scored 1 wherever they were served; a version never served shows '–'.
    const scores = await panel.locator('tr[data-version] td:last-child').allTextContents();
    assert.ok(scores.includes('1.00') || scores.includes('0.00'), `mean scores shown: ${scores.join(', ')}`);
    assert.equal(await panel.locator('polyline').count(), 2, 'a line per version');
    const points = await panel.locator('polyline').evaluateAll((lines) => lines.map((l) => (l.getAttribute('points') ?? '').trim().split(/\s+/).length));
    // Two bursts of traffic in two time buckets: two points a line (a bucket per request would make a comb of spikes).
    assert.ok(
      points.every((n) => n === 2 || n === 3),
      `points per line: ${points.join(', ')}`,
    );
    mkdirSync(join(repoRoot, 'test-output'), { recursive: true });
    await panel.screenshot({ path: join(repoRoot, 'test-output', 'dashboard-prompts.png') });
    await page.close();
  });
});
