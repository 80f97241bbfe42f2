// Test support: raw bytes to the server over node:net, for requests a real client library refuses to send.
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: string;
  /** Whether the server closed the connection after answering. */
  closed: boolean;
}

/** Sends `bytes` on a fresh connection and resolves with the one response that comes back, once the server closes. */
export function rawRequest(port: number, bytes: string | Buffer, limitMs = 30_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${limitMs} ms; got ${JSON.stringify(data.slice(0, 300))}`));
    }, limitMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (data += chunk));
    // A reset after the answer still leaves the answer to read.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve({ ...parseResponse(data), closed: true });
      } catch (err) {
        reject(err);
      }
    });
    socket.write(bytes);
  });
}

/** Status, headers and body of the first response in `data`. */
export function parseResponse(data: string): Omit<RawAnswer, 'closed'> {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`not an HTTP response: ${JSON.stringify(data.slice(0, 300))}`);
  const [statusLine, ...lines] = data.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = headers['content-length'];
  const rest = data.slice(end + 4);
  return { status, headers, body: length === undefined ? rest : rest.slice(0, Number(length)) };
}
