// A call that fails after the Responses stream began: an upstream that drops its connection mid-answer, behind the
// gateway. The stream ends with response.failed carrying the error (never a hang or a cut without an event), the
// openai SDK reads it as a failed Response, and nothing is stored.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';

/** An OpenAI-compatible upstream that streams two chunks of an answer, then drops the connection. */
function droppingUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[{"id":"flaky","object":"model"}]}');
      return;
    }
    req.resume();
    req.once('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta: object) =>
        `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'flaky', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
      res.write(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'Once upon' }));
      setTimeout(() => res.socket?.destroy(), 50);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })),
  );
}

describe('Responses stream that fails mid-answer', () => {
  let upstream: { server: Server; url: string };
  let gateway: GatewayServer;
  let client: OpenAI;
  before(async () => {
    upstream = await droppingUpstream();
    const yaml = [
      "database: ':memory:'",
      'models:',
      '  flaky:',
      `    replicas: [{ type: openai, id: up, baseUrl: "${upstream.url}/v1", upstreamModel: flaky }]`,
    ].join('\n');
    gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0 } });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 20_000 });
  });
  after(async () => {
    await gateway?.close();
    upstream?.server.close();
  });

  it('ends with response.failed after the text already sent; the SDK gets a failed Response; nothing is stored', async () => {
    const events = await client.responses.create({ model: 'flaky', input: 'Tell a story', stream: true });
    const types: string[] = [];
    let failed: OpenAI.Responses.Response | undefined;
    for await (const e of events) {
      types.push(e.type);
      if (e.type === 'response.failed') failed = e.response;
    }
    assert.ok(types.includes('response.output_text.delta'), `text came first: ${types.join(', ')}`);
    assert.equal(types.at(-1), 'response.failed', types.join(', '));
    assert.ok(failed, 'the failed response is in the event');
    assert.equal(failed.status, 'failed');
    assert.ok(failed.error && failed.error.message.length > 0, 'the failure says what went wrong');
    assert.equal(failed.usage, null);

    const final = await client.responses.stream({ model: 'flaky', input: 'Tell a story' }).finalResponse();
    assert.equal(final.status, 'failed');
    await assert.rejects(client.responses.retrieve(final.id), (e: unknown) => e instanceof OpenAI.NotFoundError, 'a failed response is not stored');
  });
});
