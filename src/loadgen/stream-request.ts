// One streamed answer in the target's dialect, timed: when it was due, sent, got its first token, each token after,
// and ended.
import { createParser } from 'eventsource-parser';
import { StringDecoder } from 'node:string_decoder';
import type { Pool } from 'undici';
import { endOfStream, type BenchApi, type BenchDialect, type StreamReading } from './bench-dialects.js';
import type { BenchPrompt } from './workload.js';

/** What a refusal says: its message when it has one (OpenAI's and Anthropic's shapes both nest it in `error`), else the start of its text. */
function errorMessage(text: string): string {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === 'string') return message.slice(0, 200);
  } catch {
    // Not JSON: the text itself says it.
  }
  return text.slice(0, 200);
}

export interface RequestTiming {
  /** When the request should have been sent (open loop) or was sent (closed loop), ms on the run's clock. */
  due: number;
  sent: number;
  firstToken?: number;
  end: number;
  /** Gaps between consecutive content chunks, ms. */
  gaps: number[];
  outputTokens: number;
  promptTokens: number;
  ok: boolean;
  error?: string;
}

export interface Target {
  pool: Pool;
  /** The dialect's path, below the base URL's path. */
  path: string;
  model: string;
  headers: Record<string, string>;
  api: BenchApi;
  dialect: BenchDialect;
}

export async function streamRequest(
  target: Target,
  prompt: BenchPrompt,
  due: number,
  now: () => number,
  extra: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<RequestTiming> {
  const sent = now();
  const timing: RequestTiming = { due, sent, end: sent, gaps: [], outputTokens: 0, promptTokens: 0, ok: false };
  let last = 0;
  let chunks = 0;
  const reading: StreamReading = { text: false, done: false };
  try {
    const res = await target.pool.request({
      path: target.path,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...target.headers },
      body: JSON.stringify(target.dialect.body(target.model, prompt, extra)),
      headersTimeout: 300_000,
      bodyTimeout: 300_000,
      signal,
    });
    if (res.statusCode !== 200) {
      timing.error = `HTTP ${res.statusCode}: ${errorMessage(await res.body.text())}`;
      timing.end = now();
      return timing;
    }
    const parser = createParser({
      onEvent(event) {
        reading.text = false;
        target.dialect.read(event, reading);
        if (reading.text) {
          const t = now();
          if (timing.firstToken === undefined) timing.firstToken = t;
          else timing.gaps.push(t - last);
          last = t;
          chunks++;
        }
      },
    });
    const decoder = new StringDecoder('utf8');
    for await (const piece of res.body) parser.feed(decoder.write(piece as Buffer));
    timing.error = reading.error;
    timing.outputTokens = reading.outputTokens || chunks;
    timing.promptTokens = reading.promptTokens ?? 0;
    timing.ok = reading.done && !timing.error;
    if (!reading.done && !timing.error) timing.error = `stream ended without ${endOfStream[target.api]}`;
  } catch (err) {
    timing.error = (err as Error).message;
  }
  timing.end = now();
  return timing;
}
