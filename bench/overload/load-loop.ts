// Closed and open-loop load on /v1/completions for the overload test and bench:overload: answers, refusals (each a
// 429 with Retry-After in OpenAI's shape) and latencies, counted over a window.
import type { Pool } from 'undici';

export interface LoadOrder {
  kind: 'closed' | 'open';
  ms: number;
  /** closed: clients that each send the next request when the last is answered; open: requests per second. */
  clients?: number;
  rate?: number;
  /** Answers finishing in the first `skipMs` are not counted (the queue filling up). */
  skipMs: number;
}

export interface LoadResult {
  answersPerSecond: number;
  answered: number;
  refused: number;
  latencies: number[];
  problems: string[];
}

/** Sends `body` to /v1/completions as the order says, over `pool`; 200s are answers, 429s refusals, the rest problems. */
export async function runLoad(pool: Pool, body: string, order: LoadOrder): Promise<LoadResult> {
  const result: LoadResult = { answersPerSecond: 0, answered: 0, refused: 0, latencies: [], problems: [] };
  const from = performance.now();
  const to = from + order.ms;
  const counted = (t: number) => t >= from + order.skipMs && t <= to;
  let inWindow = 0;
  const send = async () => {
    const started = performance.now();
    try {
      const res = await pool.request({ path: '/v1/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await res.body.text();
      const now = performance.now();
      if (res.statusCode === 200) {
        result.answered++;
        result.latencies.push(now - started);
        if (counted(now)) inWindow++;
      } else if (res.statusCode === 429) {
        result.refused++;
        const error = (JSON.parse(text) as { error?: { type?: string } }).error;
        if (!(Number(res.headers['retry-after']) >= 1)) result.problems.push(`429 without a usable Retry-After: ${JSON.stringify(res.headers['retry-after'])}`);
        if (error?.type !== 'rate_limit_error') result.problems.push(`429 not in OpenAI's shape: ${text.slice(0, 160)}`);
      } else {
        result.problems.push(`${res.statusCode}: ${text.slice(0, 160)}`);
      }
    } catch (err) {
      result.problems.push(`request failed: ${(err as Error).message}`);
    }
  };
  if (order.kind === 'closed') {
    await Promise.all(
      Array.from({ length: order.clients ?? 1 }, async () => {
        while (performance.now() < to) await send();
      }),
    );
  } else {
    const pending: Promise<void>[] = [];
    let sent = 0;
    while (performance.now() < to) {
      const due = Math.floor(((performance.now() - from) / 1000) * order.rate!);
      for (; sent < due; sent++) pending.push(send());
      await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(pending);
  }
  result.answersPerSecond = inWindow / ((order.ms - order.skipMs) / 1000);
  return result;
}
