// The other doors of the server: WebSocket streaming, /infer, health, readiness and Prometheus metrics.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import type { RunningServer } from '../../src/server/index.js';
import { startServer } from '../support/server.js';

describe('websocket, /infer and operations', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ parallel: 2 });
  });
  after(() => server.close());

  function wsExchange(messages: object[]): Promise<unknown[][]> {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`);
    const replies: unknown[][] = [];
    let current: unknown[] = [];
    return new Promise((resolve, reject) => {
      ws.on('open', () => {
        for (const m of messages) ws.send(JSON.stringify(m));
      });
      ws.on('error', reject);
      ws.on('message', (data) => {
        const text = data.toString();
        if (text === '[DONE]') {
          replies.push(current);
          current = [];
          if (replies.length === messages.length) {
            ws.close();
            resolve(replies);
          }
        } else current.push(JSON.parse(text));
      });
    });
  }

  it('streams the same chunks as SSE over a WebSocket, one request after another, errors in-band', async () => {
    const [chat, bad, completion] = await wsExchange([
      { model: 'stories260K', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 10, stream_options: { include_usage: true } },
      { model: 'missing', messages: [{ role: 'user', content: 'Hi' }] },
      { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 6, temperature: 0 },
    ]);
    const chunks = chat as {
      object: string;
      choices: { delta: { content?: string }; finish_reason: string | null }[];
      usage?: { completion_tokens: number };
    }[];
    assert.ok(
      chunks.every((c) => c.object === 'chat.completion.chunk'),
      "chunks.every((c) => c.object === 'chat.completion.chunk')",
    );
    assert.ok(
      chunks.some((c) => c.choices[0]?.finish_reason),
      'chunks.some((c) => c.choices[0]?.finish_reason)',
    );
    assert.ok(chunks.at(-1)!.usage!.completion_tokens > 0, 'chunks.at(-1)!.usage!.completion_tokens > 0');
    assert.equal((bad![0] as { error: { code: string } }).error.code, 'model_not_found');
    const text = (completion as { choices: { text: string }[] }[]).map((c) => c.choices[0]?.text ?? '').join('');
    assert.ok(text.length > 0, 'text.length > 0');
  });

  it('/infer takes a prompt and answers text, usage, model and latency', async () => {
    const res = await request(`${server.url}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 12, temperature: 0 }),
    });
    assert.equal(res.statusCode, 200);
    const body = (await res.body.json()) as { text: string; usage: { completion_tokens: number }; model: string; latency_ms: number };
    assert.equal(body.model, 'stories260K');
    assert.ok(body.text.length > 0, 'body.text.length > 0');
    assert.equal(body.usage.completion_tokens, 12);
    assert.ok(body.latency_ms > 0 && body.latency_ms < 30_000, 'body.latency_ms > 0 && body.latency_ms < 30_000');
  });

  it('/health and /ready say the server is live and the model loaded', async () => {
    const health = await request(`${server.url}/health`);
    assert.deepEqual(await health.body.json(), { status: 'ok' });
    const ready = await request(`${server.url}/ready`);
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(await ready.body.json(), { status: 'ready', models: ['stories260K'] });
  });

  it('/metrics counts requests, tokens and latencies in Prometheus format', async () => {
    const res = await request(`${server.url}/metrics`);
    const text = await res.body.text();
    assert.match(String(res.headers['content-type']), /text\/plain/);
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
    assert.ok(
      value(/^autoglm_requests_total\{route="\/infer",status="200"\} (\d+)/m) >= 1,
      'value(/^autoglm_requests_total\\{route="\\/infer",status="200"\\} (\\d+)/m) >= 1',
    );
    assert.ok(
      value(/^autoglm_completion_tokens_total\{model="stories260K"\} (\d+)/m) >= 12,
      'value(/^autoglm_completion_tokens_total\\{model="stories260K"\\} (\\d+)/m) >= 12',
    );
    assert.ok(
      value(/^autoglm_prompt_tokens_total\{model="stories260K"\} (\d+)/m) >= 1,
      'value(/^autoglm_prompt_tokens_total\\{model="stories260K"\\} (\\d+)/m) >= 1',
    );
    assert.ok(
      value(/^autoglm_time_to_first_token_seconds_count\{model="stories260K"\} (\d+)/m) >= 2,
      'value(/^autoglm_time_to_first_token_seconds_count\\{model="stories260K"\\} (\\d+)/m) >= 2',
    );
    assert.ok(
      value(/^autoglm_inter_token_latency_seconds_count\{model="stories260K"\} (\d+)/m) >= 10,
      'value(/^autoglm_inter_token_latency_seconds_count\\{model="stories260K"\\} (\\d+)/m) >= 10',
    );
    assert.ok(
      value(/^autoglm_request_duration_seconds_count\{model="stories260K",outcome="ok"\} (\d+)/m) >= 2,
      'value(/^autoglm_request_duration_seconds_count\\{model="stories260K",outcome="ok"\\} (\\d+)/m) >= 2',
    );
    assert.equal(value(/^autoglm_sequences\{model="stories260K"\} (\d+)/m), 2);
    assert.equal(value(/^autoglm_queue_depth\{model="stories260K"\} (\d+)/m), 0);
  });
});
