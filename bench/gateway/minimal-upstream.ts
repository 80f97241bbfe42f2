// The minimal OpenAI-compatible upstream every gateway in bench:gateway fronts: fixed answers, as fast as Node goes.
// A stream asking for more than 16 tokens (the relay row) gets that many one-token chunks, each written on its own
// turn of the event loop, as an engine's tokens arrive: a relay gets them as separate reads, not as one buffer.
import { createServer, type ServerResponse } from 'node:http';

const whole = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 0,
  model: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the upstream.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
});
const chunk = (content: string | null, finish: string | null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 0, model: 'bench', choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }] })}\n\n`;
const stream = [
  chunk('Hello', null),
  chunk(' from', null),
  chunk(' the upstream.', null),
  chunk(null, 'stop'),
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 0, model: 'bench', choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } })}\n\n`,
  'data: [DONE]\n\n',
].join('');

const RELAY_PATTERN = /"max_tokens":(\d+)/;

async function writeTokens(res: ServerResponse, n: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const token = chunk(' token', null);
  for (let i = 0; i < n; i++) {
    if (!res.write(token)) await new Promise((r) => res.once('drain', r));
    else await new Promise((r) => setImmediate(r));
  }
  res.end(`${chunk(null, 'length')}data: [DONE]\n\n`);
}

const server = createServer((req, res) => {
  if (req.method === 'GET')
    return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[{"id":"bench","object":"model"}]}');
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    const tokens = Number(RELAY_PATTERN.exec(body)?.[1] ?? 0);
    if (body.includes('"stream":true') && tokens > 16) void writeTokens(res, tokens);
    else if (body.includes('"stream":true')) res.writeHead(200, { 'content-type': 'text/event-stream' }).end(stream);
    else res.writeHead(200, { 'content-type': 'application/json' }).end(whole);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening ${(server.address() as { port: number }).port}`));
