// Runs fuzz cases against a server and fails with every problem found, the seed, and how to replay it.
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fnv1aString, seededRandom, type Random } from '../../src/core/index.js';
import { serverSettingsSchema } from '../../src/config/index.js';
import { problemsOf, type FuzzCase } from './fuzz-case.js';
import { exchange, inParallel } from './raw-http.js';

/** A fresh seed per run unless FUZZ_SEED replays one; every failure message carries it. */
export const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

/** Each category has its own stream, so replaying a seed replays a category whatever ran before it. */
export const randomFor = (category: string): Random => seededRandom((seed ^ fnv1aString(category)) >>> 0);

/** How long any case may take before it is a hang: generous, for a busy 2-core machine. */
export const CASE_LIMIT_MS = 15_000;
const IN_FLIGHT = 8;

/**
 * The server's own timeouts for slow clients (headers, body), set short so stalled bodies and headers are cut within
 * the suite's time; undefined when the server settings have none, which the slow-client test refuses.
 */
export const slowTimeouts: { settings: Record<string, number>; limitMs: number } | undefined = (() => {
  const keys = Object.keys(serverSettingsSchema.shape).filter((k) => /(request|body|headers?)Timeout/i.test(k));
  if (keys.length === 0) return undefined;
  const settings = Object.fromEntries(keys.map((k) => [k, /seconds?$/i.test(k) ? 2 : 2000]));
  if (!serverSettingsSchema.safeParse(settings).success) return undefined;
  return { settings, limitMs: 2000 + 10_000 };
})();

const outputDir = join(import.meta.dirname, '../../test-output');

/** Sends every case (a few at a time), then fails listing each case's problems, with the seed to replay them. */
export async function runCases(t: TestContext, port: number, server: string, category: string, cases: FuzzCase[], inFlight = IN_FLIGHT): Promise<void> {
  const started = performance.now();
  const results = await inParallel(cases, inFlight, async (c) => {
    const limitMs = c.limitMs ?? CASE_LIMIT_MS;
    const outcome = await exchange(port, { pieces: c.pieces, head: c.head, limitMs });
    return { c, outcome, problems: problemsOf(c, outcome, limitMs) };
  });
  const failed = results.filter((r) => r.problems.length > 0);
  const statuses = new Map<string, number>();
  for (const r of results) {
    const key = r.outcome.kind === 'response' ? String(r.outcome.response.status) : r.outcome.kind;
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
  }
  t.diagnostic(
    `${cases.length} cases in ${Math.round(performance.now() - started)} ms, ${failed.length} failed; answers: ${[...statuses]
      .sort()
      .map(([k, n]) => `${k}×${n}`)
      .join(' ')}`,
  );
  if (failed.length === 0) return;
  const lines = failed.map((r) => `  ${r.c.name}: ${r.problems.join('; ')}`);
  // The whole list goes to a file; the failure message keeps the first ones readable.
  mkdirSync(outputDir, { recursive: true });
  const file = join(outputDir, `fuzz-${`${server} ${category}`.replace(/\W+/g, '-')}.txt`);
  writeFileSync(file, `seed ${seed}\n${lines.join('\n')}\n`);
  assert.fail(
    `${failed.length} of ${cases.length} ${category} cases against the ${server} failed (seed ${seed}: replay with FUZZ_SEED=${seed}; all in ${file}):\n${lines.slice(0, 25).join('\n')}${lines.length > 25 ? `\n  … ${lines.length - 25} more` : ''}`,
  );
}
