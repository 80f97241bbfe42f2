// A log collector that stops reading the server's stderr (a full pipe) must not stall the server: requests go on being
// answered, and once the collector reads again every access line arrives.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Pool } from 'undici';
import { runCli, until, type CliProcess } from '../support/processes.js';

const REQUESTS = 3000;
const IN_FLIGHT = 8;

describe('a log reader that stops reading', () => {
  let server: CliProcess | undefined;
  after(() => server?.child.kill('SIGKILL'));

  it(`answers ${REQUESTS} requests while nobody reads stderr, and loses none of their access lines`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoglm-stalled-log-'));
    const config = join(dir, 'gateway.yaml');
    writeFileSync(config, 'models:\n  chat:\n    replicas:\n      - { type: sim, preset: instant, outputTokens: 4 }\n');
    server = runCli(['serve', '--config', config, '--port', '0', '--database', join(dir, 'db.sqlite'), '--log-format', 'json']);
    const started = server;
    await until(() => /gateway at (http:\/\/[\d.:]+)\/v1/.test(started.out()) || started.child.exitCode !== null);
    const url = /gateway at (http:\/\/[\d.:]+)\/v1/.exec(started.out())?.[1];
    assert.ok(url, `the gateway started: ${started.err()}`);
    // The collector stops: the pipe (64 KB) fills after a few hundred access lines.
    started.child.stderr!.pause();
    const pool = new Pool(url, { connections: IN_FLIGHT, headersTimeout: 60_000, bodyTimeout: 60_000 });
    const body = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
    let next = 0;
    let answered = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < REQUESTS) {
          next++;
          const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body });
          await res.body.text();
          assert.equal(res.statusCode, 200);
          answered++;
        }
      }),
    );
    await pool.close();
    assert.equal(answered, REQUESTS);
    // The collector reads again: every request's line was held, none dropped.
    started.child.stderr!.resume();
    const accessLines = () =>
      started
        .err()
        .split('\n')
        .filter((l) => l.includes('"route":"/v1/chat/completions"')).length;
    await until(() => accessLines() >= REQUESTS, 60_000);
    assert.equal(accessLines(), REQUESTS);
  });
});
