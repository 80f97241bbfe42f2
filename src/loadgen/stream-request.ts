// One streamed chat completion, timed: when it was due, sent, got its first token, each token after, and ended.
import { createParser } from 'eventsource-parser';
import { StringDecoder } from 'node:string_decoder';
import type { Pool } from 'undici';
import type { BenchPrompt } from './workload.js';

/** What a refusal says: its OpenAI-shaped message when it has one, else the start of its text. */
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
  path: string;
  model: string;
  headers: Record<string, string>;
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
  let done = false;
  try {
    const res = await target.pool.request({
      path: target.path,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...target.headers },
      body: JSON.stringify({
        model: target.model,
        messages: prompt.messages,
        max_tokens: prompt.maxTokens,
        stream: true,
        stream_options: { include_usage: true },
        ...extra,
      }),
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
        if (event.data === '[DONE]') {
          done = true;
          return;
        }
        const data = JSON.parse(event.data) as {
          choices?: { delta?: { content?: string } }[];
          usage?: { prompt_tokens: number; completion_tokens: number };
          error?: { message: string };
        };
        if (data.error) timing.error = data.error.message;
        if (data.usage) {
          timing.outputTokens = data.usage.completion_tokens;
          timing.promptTokens = data.usage.prompt_tokens;
        }
        if (data.choices?.[0]?.delta?.content) {
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
    timing.outputTokens ||= chunks;
    timing.ok = done && !timing.error;
    if (!done && !timing.error) timing.error = 'stream ended without [DONE]';
  } catch (err) {
    timing.error = (err as Error).message;
  }
  timing.end = now();
  return timing;
}
