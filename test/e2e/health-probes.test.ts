// Active health checks against real upstreams: a replica whose health endpoint is slow (a busy host) but whose
// requests succeed keeps serving, while a replica that is gone is ejected by its failing probes alone.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { until } from '../support/processes.js';

/** An OpenAI-compatible upstream whose model list (the health probe) answers after `probeDelayMs`, chats at once. */
function upstream(probeDelayMs: number): Server {
  return createServer((req, res) => {
    if (req.method === 'GET') {
      const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}'), probeDelayMs);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    req.resume().on('end', () =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 0,
          model: 'up',
          choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
        }),
      ),
    );
  });
}

const listen = (server: Server) => new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));

describe('health probes', () => {
  const slow = upstream(400);
  let gateway: GatewayServer;
  let goneUrl: string;

  before(async () => {
    const slowPort = await listen(slow);
    // A port that was listening and is closed again: connections to it are refused, as to a replica that died.
    const gone = createServer();
    goneUrl = `http://127.0.0.1:${await listen(gone)}/v1`;
    await new Promise((r) => gone.close(r));
    gateway = await serveGateway(
      parseGatewayConfig(`
database: ':memory:'
models:
  busy:
    breaker: { failureThreshold: 3, openMs: 60000 }
    health: { intervalMs: 100, timeoutMs: 50 }
    replicas: [{ type: openai, id: busy, preset: vllm, baseUrl: 'http://127.0.0.1:${slowPort}/v1', upstreamModel: up }]
  dead:
    breaker: { failureThreshold: 3, openMs: 60000 }
    health: { intervalMs: 100, timeoutMs: 50 }
    replicas: [{ type: openai, id: gone, preset: vllm, baseUrl: '${goneUrl}', upstreamModel: up }]
`),
      { serverOverrides: { port: 0 } },
    );
  });
  after(async () => {
    await gateway?.close();
    slow.close();
  });

  const breakerOpen = async (replica: string) => {
    const text = await (await request(`${gateway.url}/metrics`)).body.text();
    return new RegExp(`^autoglm_replica_breaker_state\\{model="[^"]+",replica="${replica}",state="open"\\} 1`, 'm').test(text);
  };

  it('a replica whose probes time out but whose requests succeed keeps serving', async () => {
    const statuses: number[] = [];
    // Two callers for well over a dozen probe intervals, each probe timing out.
    const end = Date.now() + 2000;
    const caller = async () => {
      while (Date.now() < end) {
        const res = await request(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'busy', messages: [{ role: 'user', content: 'hi' }] }),
        });
        statuses.push(res.statusCode);
        await res.body.dump();
      }
    };
    await Promise.all([caller(), caller()]);
    assert.ok(statuses.length > 10, `requests were made: ${statuses.length}`);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      'every request succeeded',
    );
    assert.equal(await breakerOpen('busy'), false, "the busy replica's breaker is not open");
  });

  it('a replica that is gone is ejected by its probes, with no request sent to it', async () => {
    await until(() => breakerOpen('gone'), 20_000, 50);
  });
});
