// A local stand-in for the Hugging Face hub: resolve URLs that redirect to a "CDN" with the LFS sha256 in
// X-Linked-Etag (right or wrong), Range support, and a connection cut half way through the first download.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { storiesPath } from './server.js';

export interface HubRequest {
  method: string;
  url: string;
  range?: string;
}

export interface ModelHub {
  url: string;
  requests: HubRequest[];
  close(): Promise<void>;
}

export const storiesBytes = readFileSync(storiesPath);
export const storiesSha256 = createHash('sha256').update(storiesBytes).digest('hex');

/**
 * Routes (each `<owner>/<repo>/resolve/main/<file>`):
 * - ggml-org/models/tinyllamas/stories260K.gguf, tiny/stories/stories260K.gguf: the real file, the right sha256
 * - wrong/etag/stories260K.gguf: the real file, a sha256 that is not its own
 * - cut/once/stories260K.gguf: the real file, but the first download breaks off half way
 * - cut/short/model.gguf: a connection that always dies after 1000 bytes
 */
export async function startModelHub(): Promise<ModelHub> {
  const requests: HubRequest[] = [];
  let cutsLeft = 1;
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    requests.push({ method: req.method ?? 'GET', url, range: req.headers.range });
    const redirect = (etag: string, to: string) =>
      res.writeHead(302, { location: to, 'x-linked-etag': `"${etag}"`, 'x-linked-size': storiesBytes.length }).end();
    if (url === '/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf' || url === '/tiny/stories/resolve/main/stories260K.gguf') {
      redirect(storiesSha256, '/cdn/stories');
    } else if (url === '/wrong/etag/resolve/main/stories260K.gguf') {
      redirect(createHash('sha256').update('some other file').digest('hex'), '/cdn/stories');
    } else if (url === '/cut/once/resolve/main/stories260K.gguf') {
      redirect(storiesSha256, cutsLeft-- > 0 ? '/cdn/stories?cut' : '/cdn/stories');
    } else if (url === '/cut/short/resolve/main/model.gguf') {
      // The header promises more bytes than ever come.
      res.writeHead(200, { 'content-length': 1_000_000 });
      res.write(Buffer.alloc(1000), () => res.destroy());
    } else if (url.startsWith('/cdn/stories')) {
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const from = range ? Number(range[1]) : 0;
      if (from >= storiesBytes.length) {
        res.writeHead(416, { 'content-range': `bytes */${storiesBytes.length}` }).end();
        return;
      }
      const body = storiesBytes.subarray(from);
      const headers = { 'content-length': body.length, 'accept-ranges': 'bytes', etag: '"cdn-md5-not-a-sha"' };
      if (range) res.writeHead(206, { ...headers, 'content-range': `bytes ${from}-${storiesBytes.length - 1}/${storiesBytes.length}` });
      else res.writeHead(200, headers);
      if (url.endsWith('?cut')) res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
      else res.end(body);
    } else res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
