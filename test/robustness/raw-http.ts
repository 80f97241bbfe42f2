// Raw HTTP over node:net for the robustness suite: any bytes out, and whatever comes back (a response, a close, or
// nothing at all), because a real client library refuses to send most of what a hostile or broken client sends.
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

export type Outcome =
  | { kind: 'response'; response: RawResponse; ms: number }
  /** The server closed (or reset) the connection without a whole response. */
  | { kind: 'closed'; ms: number; partial: string }
  /** Neither a response nor a close within the limit. */
  | { kind: 'hang'; ms: number; partial: string };

/** A piece of what the client sends: bytes, or a pause before the next piece (a slow client). */
export type Piece = string | Buffer | { pauseMs: number };

export interface Exchange {
  pieces: Piece[];
  /** The response to a HEAD request has headers only. */
  head?: boolean;
  limitMs: number;
}

/** The bytes of one HTTP/1.1 request; Host and Connection: close are added unless given, Content-Length for a body. */
export function httpRequest(method: string, path: string, options: { headers?: [string, string][]; body?: string | Buffer; version?: string } = {}): Buffer {
  const headers = [...(options.headers ?? [])];
  const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name);
  if (!has('host')) headers.unshift(['Host', '127.0.0.1']);
  if (!has('connection')) headers.push(['Connection', 'close']);
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  if (body && !has('content-length') && !has('transfer-encoding')) headers.push(['Content-Length', String(body.length)]);
  const head = `${method} ${path} ${options.version ?? 'HTTP/1.1'}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
}

/** A whole response parsed from `data`, or undefined while more bytes are needed (`ended`: the peer closed). */
function parseResponse(data: Buffer, head: boolean, ended: boolean): RawResponse | undefined {
  let offset = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', offset);
    if (end < 0) return undefined;
    const lines = data.subarray(offset, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(lines[0] ?? '')?.[1]);
    if (!Number.isFinite(status)) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const bodyStart = end + 4;
    // An interim 100 Continue comes before the real response.
    if (status >= 100 && status < 200 && status !== 101) {
      offset = bodyStart;
      continue;
    }
    if (head || status === 101 || status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0) };
    const rest = data.subarray(bodyStart);
    if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const body = dechunk(rest);
      if (body) return { status, headers, body };
      return ended ? { status, headers, body: rest } : undefined;
    }
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (rest.length >= length) return { status, headers, body: rest.subarray(0, length) };
      return ended ? { status, headers, body: rest } : undefined;
    }
    return ended ? { status, headers, body: rest } : undefined;
  }
}

/** The body of a chunked message, or undefined before its last chunk. */
function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size)) return undefined;
    if (size === 0) return Buffer.concat(parts);
    if (data.length < eol + 2 + size + 2) return undefined;
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** Sends the pieces on a fresh connection and waits for a whole response, a close, or the limit. */
export function exchange(port: number, ex: Exchange): Promise<Outcome> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      socket.destroy();
      resolve(outcome);
    };
    const partial = () => data.subarray(0, 300).toString('latin1');
    const tryParse = (ended: boolean) => {
      try {
        const response = parseResponse(data, ex.head ?? false, ended);
        if (response) return finish({ kind: 'response', response, ms: ms() });
      } catch {
        return finish({ kind: 'closed', ms: ms(), partial: partial() });
      }
      if (ended) finish({ kind: 'closed', ms: ms(), partial: partial() });
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      tryParse(false);
    });
    socket.on('end', () => tryParse(true));
    socket.on('close', () => tryParse(true));
    // A reset while we are still writing is one way a server refuses a request; what it sent before still counts.
    socket.on('error', () => tryParse(true));
    timers.push(setTimeout(() => finish({ kind: 'hang', ms: ms(), partial: partial() }), ex.limitMs));
    // Pieces go out in order, each pause counted from the previous write.
    let delay = 0;
    for (const piece of ex.pieces) {
      if (typeof piece === 'object' && !Buffer.isBuffer(piece)) {
        delay += piece.pauseMs;
        continue;
      }
      const write = () => {
        if (!done && !socket.destroyed) socket.write(piece);
      };
      if (delay === 0) write();
      else timers.push(setTimeout(write, delay));
    }
  });
}

/** Runs `work` over `items` with at most `limit` in flight; results in the items' order. */
export async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  });
  await Promise.all(lanes);
  return results;
}
