// The overload test's load generator, in a child process: it sends and reads the requests on its own CPU time, so
// the test process's CPU time is the server's alone.
import { Pool } from 'undici';

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

const url = process.env.LOAD_URL!;
const body = process.env.LOAD_BODY!;
const pool = new Pool(url, { connections: 64 });

async function run(order: LoadOrder): Promise<LoadResult> {
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

process.on('message', (order: LoadOrder | 'close') => {
  if (order === 'close') {
    void pool.close().then(() => process.disconnect?.());
    return;
  }
  void run(order).then((result) => process.send!(result));
});
