// Slow and hostile clients: connections that trickle their headers or bodies are answered 408 and closed by the
// deadlines while a normal client is still served; idle keep-alive connections close; past the connection cap new
// ones are refused; a stream whose client stops reading is cut and its sequence and upstream request freed.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { request } from 'undici';
import { WebSocket } from 'ws';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, serveSim, type GatewayServer, type RunningServer, type SimServer } from '../../src/server/index.js';
import { until } from '../support/processes.js';
import { parseResponse } from '../support/raw-http.js';
import { openaiClient, startServer } from '../support/server.js';

/** A connection that sends `head`, then `drip` every `everyMs` until the server closes it; what came back is kept. */
function trickle(port: number, head: string, drip: string, everyMs: number) {
  const socket = connect(port, '127.0.0.1');
  const opened = performance.now();
  let data = '';
  let timer: NodeJS.Timeout | undefined;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (data += chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(performance.now() - opened);
    }),
  );
  socket.once('connect', () => {
    socket.write(head);
    timer = setInterval(() => socket.writable && socket.write(drip), everyMs);
  });
  return { socket, closed, data: () => data };
}

const requestTimeout = (data: string) => {
  const answer = parseResponse(data);
  return { status: answer.status, code: (JSON.parse(answer.body) as { error: { code: string } }).error.code };
};

describe('slow clients', () => {
  let server: RunningServer;
  let port: number;
  before(async () => {
    server = await startServer({ parallel: 2 }, { server: { headersTimeoutSeconds: 1, bodyTimeoutSeconds: 1.5, keepAliveTimeoutSeconds: 1 } });
    port = Number(new URL(server.url).port);
  });
  after(() => server.close());

  it('500 connections trickling headers or bodies are answered 408 and closed, while a normal client is served', async (t) => {
    const body = (path: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"prompt": "x`;
    const clients = [
      ...Array.from({ length: 200 }, () => ({ kind: 'headers', ...trickle(port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n', 'X-Slow: y\r\n', 200) })),
      ...Array.from({ length: 150 }, () => ({ kind: 'body (node:http route)', ...trickle(port, body('/v1/chat/completions'), 'x', 200) })),
      ...Array.from({ length: 150 }, () => ({ kind: 'body (fastify route)', ...trickle(port, body('/infer'), 'x', 200) })),
    ];
    await until(() => clients.every((c) => c.socket.readyState === 'open' || c.socket.destroyed), 20_000);

    const started = performance.now();
    const answer = await openaiClient(server).chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Once upon a time' }],
      max_tokens: 8,
    });
    t.diagnostic(`a normal request took ${Math.round(performance.now() - started)} ms among 500 slow connections`);
    assert.ok(answer.choices[0]!.message.content!.length > 0, 'the normal client got an answer');

    const closedAfter = await Promise.race([
      Promise.all(clients.map((c) => c.closed)),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`still open after 30 s: ${clients.filter((c) => !c.socket.destroyed).length}`)), 30_000),
      ),
    ]);
    t.diagnostic(`all 500 closed, the last ${Math.round(Math.max(...closedAfter))} ms after it opened`);
    for (const c of clients) {
      assert.deepEqual(requestTimeout(c.data()), { status: 408, code: 'request_timeout' }, `${c.kind}: ${c.data().slice(0, 200)}`);
    }
  });

  it('an idle keep-alive connection is closed', async (t) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (data += chunk));
    const closed = new Promise<number>((resolve) => {
      const opened = performance.now();
      socket.once('close', () => resolve(performance.now() - opened));
    });
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    const ms = await Promise.race([closed, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('still open after 20 s')), 20_000))]);
    t.diagnostic(`closed ${Math.round(ms)} ms after its answer`);
    assert.equal(parseResponse(data).status, 200, 'it was served first');
  });
});

describe('the connection cap', () => {
  let gateway: GatewayServer;
  let port: number;
  before(async () => {
    gateway = await serveGateway(
      parseGatewayConfig(`
database: ':memory:'
server: { maxConnections: 20, headersTimeoutSeconds: 60 }
models:
  chat: { replicas: [{ type: sim, preset: instant, outputTokens: 4 }] }
`),
      { serverOverrides: { port: 0 } },
    );
    port = Number(new URL(gateway.url).port);
  });
  after(() => gateway.close());

  it('refuses connections past the cap at once, and serves again once one closes', async () => {
    const held = Array.from({ length: 20 }, () => connect(port, '127.0.0.1').on('error', () => undefined));
    await until(async () => (await new Promise<number>((r) => gateway.app.server.getConnections((_, n) => r(n)))) === 20, 20_000);
    const extra = connect(port, '127.0.0.1').on('error', () => undefined);
    let got = '';
    extra.on('data', (d) => (got += d));
    extra.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await Promise.race([
      new Promise((resolve) => extra.once('close', resolve)),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the connection past the cap was not refused')), 10_000)),
    ]);
    assert.equal(got, '', 'nothing was served past the cap');
    held.pop()!.destroy();
    await until(
      async () => {
        try {
          const res = await request(`${gateway.url}/health`, { reset: true });
          await res.body.dump();
          return res.statusCode === 200;
        } catch {
          return false;
        }
      },
      20_000,
      50,
    );
    for (const s of held) s.destroy();
  });
});

describe('a stream whose client stops reading', () => {
  let upstream: SimServer;
  const gateways: GatewayServer[] = [];
  const lines: { level: number; status?: number; closed?: string; route?: string }[] = [];

  before(async () => {
    // A model that never stops on its own: only the cut ends its stream.
    upstream = await serveSim({ model: 'endless', preset: 'instant', itlMs: 1, itlJitter: 0, outputTokens: 100_000_000 }, { port: 0 });
  });
  after(async () => {
    for (const g of gateways) await g.close();
    await upstream?.close();
  });

  async function gatewayWith(server: string) {
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const gateway = await serveGateway(
      parseGatewayConfig(`
database: ':memory:'
server: ${server}
models:
  endless: { replicas: [{ type: openai, preset: autoglm, baseUrl: "${upstream.url}/v1" }] }
`),
      { serverOverrides: { port: 0 }, logger: pino({ level: 'info' }, sink) },
    );
    gateways.push(gateway);
    return gateway;
  }

  /** Starts a stream and reads none of it; resolves with the socket once the upstream's sequence is running. */
  async function stopReading(gateway: GatewayServer): Promise<Socket> {
    const socket = connect(Number(new URL(gateway.url).port), '127.0.0.1');
    socket.pause();
    const body = JSON.stringify({ model: 'endless', messages: [{ role: 'user', content: 'Go on forever.' }], stream: true, logprobs: true, top_logprobs: 20 });
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await until(() => upstream.served.engine.stats.running === 1, 20_000);
    return socket;
  }

  /** The cut frees the upstream's sequence and the replica; the client, reading again, finds its stream ended without [DONE]. */
  async function assertCut(gateway: GatewayServer, socket: Socket) {
    await until(() => upstream.served.engine.stats.running === 0, 60_000, 50);
    await until(() => gateway.served.runtime.replicaStatus().every((r) => r.outstanding === 0), 20_000);
    let tail = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (tail = (tail + chunk).slice(-200)));
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    assert.doesNotMatch(tail, /\[DONE\]/, 'the stream was cut, not finished');
    await until(() => lines.some((l) => l.route === '/v1/chat/completions' && l.closed === 'slow_reader'), 10_000);
    const line = lines.find((l) => l.closed === 'slow_reader')!;
    assert.equal(line.level, 30, 'a cut stream is an info line');
    assert.equal(line.status, 200);
    lines.length = 0;
  }

  it('is cut once it has stalled for streamStallSeconds', async () => {
    const gateway = await gatewayWith('{ streamStallSeconds: 1 }');
    await assertCut(gateway, await stopReading(gateway));
  });

  it('is cut once more than streamQueueLimitBytes wait for it', async () => {
    const gateway = await gatewayWith('{ streamStallSeconds: 600, streamQueueLimitBytes: 1 }');
    await assertCut(gateway, await stopReading(gateway));
  });

  it('over a WebSocket, is cut once more than streamQueueLimitBytes wait for it', async () => {
    const gateway = await gatewayWith('{ streamQueueLimitBytes: 1048576 }');
    const socket = new WebSocket(`${gateway.url.replace('http', 'ws')}/v1/ws`);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.send(JSON.stringify({ model: 'endless', messages: [{ role: 'user', content: 'Go on forever.' }], logprobs: true, top_logprobs: 20 }));
    socket.pause();
    await until(() => upstream.served.engine.stats.running === 1, 20_000);
    await until(() => upstream.served.engine.stats.running === 0, 60_000, 50);
    await until(() => gateway.served.runtime.replicaStatus().every((r) => r.outstanding === 0), 20_000);
    socket.resume();
    await closed;
  });
});
