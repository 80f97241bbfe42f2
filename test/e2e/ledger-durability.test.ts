// `kill -9` the server with 200 requests in flight: every request whose client got a complete answer is in the
// usage ledger when the server comes back.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Pool, request } from 'undici';
import { runCli, until, type CliProcess } from '../support/processes.js';
import { modelMirror } from '../support/server.js';

const database = join(mkdtempSync(join(tmpdir(), 'autoglm-ledger-')), 'ledger.db');

async function serve(): Promise<CliProcess & { url: string }> {
  const proc = runCli(['serve', '--model', 'stories260K', '--parallel', '4', '--max-queue', '256', '--port', '0', '--database', database], {
    ...process.env,
    AUTOGLM_MODEL_MIRROR: modelMirror,
  });
  await until(() => /serving .* at (http:\/\/[\d.:]+)\/v1/.test(proc.out()) || proc.child.exitCode !== null, 60_000);
  const url = /serving .* at (http:\/\/[\d.:]+)\/v1/.exec(proc.out())?.[1];
  assert.ok(url, `server did not start: ${proc.err()}`);
  return { ...proc, url };
}

describe('usage ledger durability', () => {
  it('keeps a record of every completed response through kill -9', async () => {
    const first = await serve();
    const pool = new Pool(first.url, { connections: 200 });
    const completed = new Set<string>();
    let failed = 0;
    const calls = Array.from({ length: 200 }, async (_, i) => {
      const id = `kill-test-${i}`;
      try {
        const res = await pool.request({
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': id },
          body: JSON.stringify({ model: 'stories260K', messages: [{ role: 'user', content: `Story ${i}` }], max_tokens: 48, ignore_eos: true }),
        });
        const body = (await res.body.json()) as { choices?: unknown[] };
        if (res.statusCode === 200 && body.choices?.length === 1) completed.add(id);
      } catch {
        failed++;
      }
    });
    await until(() => completed.size >= 30, 60_000, 1);
    first.child.kill('SIGKILL');
    await Promise.all(calls);
    await pool.destroy();
    assert.ok(completed.size >= 30 && completed.size < 200, `kill landed mid-load: ${completed.size} completed, ${failed} cut off`);

    const second = await serve();
    try {
      const csv = await (await request(`${second.url}/admin/usage?format=csv`)).body.text();
      const recorded = new Set(
        csv
          .trim()
          .split('\n')
          .slice(1)
          .map((line) => line.split(',')[1]),
      );
      const missing = [...completed].filter((id) => !recorded.has(id));
      assert.deepEqual(missing, [], `${missing.length} of ${completed.size} completed responses are missing from the ledger`);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
