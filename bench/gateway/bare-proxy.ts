// The ceiling for any Node gateway here: node:http in, undici Pool out, bodies piped straight through, no logic.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const upstream = new Pool(process.argv[2]!, { connections: 256, keepAliveTimeout: 60_000 });
const server = createServer((req, res) => {
  upstream.stream(
    { path: req.url!, method: req.method as 'POST', headers: { 'content-type': req.headers['content-type'] ?? 'application/json' }, body: req },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, { 'content-type': String(headers['content-type'] ?? 'application/json') });
      return res;
    },
    (err) => {
      if (err && !res.headersSent) res.writeHead(502).end();
    },
  );
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => console.log(`listening ${(server.address() as { port: number }).port}`));
