// Deadlines and caps for slow and hostile clients: a connection that trickles, stalls or floods is answered in
// OpenAI's shape and closed, so it cannot hold a socket or memory for long.
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { ServerSettings } from '../config/index.js';
import { bodyTimeout, headersTimeout, headersTooLarge, malformedRequest, pathOfRawRequest, rawErrorResponse, sendError } from './http-errors.js';

export type ClientLimits = Pick<
  ServerSettings,
  'headersTimeoutSeconds' | 'bodyTimeoutSeconds' | 'keepAliveTimeoutSeconds' | 'maxConnections' | 'maxHeaderBytes'
>;

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** A node:http server with every connection-level limit set: header deadline, keep-alive, header size, connections. */
export function guardedServer(limits: ClientLimits, listener: RequestListener): Server {
  const headersMs = limits.headersTimeoutSeconds * 1000;
  const server = createServer(
    {
      headersTimeout: headersMs,
      // node's requestTimeout stops counting once the headers are in, so it cannot cut a stalled body: BodyDeadlines does.
      requestTimeout: 0,
      // node checks the header deadline of every connection this often: a tenth of it keeps the deadline within 10%.
      connectionsCheckingInterval: clamp(headersMs / 10, 25, 1000),
      keepAliveTimeout: limits.keepAliveTimeoutSeconds * 1000,
      maxHeaderSize: limits.maxHeaderBytes,
      // node would refuse a Host-less HTTP/1.1 request with a bare 400 of its own; the listener answers it in our shape.
      requireHostHeader: false,
    },
    listener,
  );
  // Past the cap node closes new sockets as they are accepted, before they cost a parser.
  server.maxConnections = limits.maxConnections;
  return server;
}

type ClientError = Error & { code?: string; reason?: string; rawPacket?: unknown };
/** The response under way on a socket, as node tracks it (it is how node itself decides whether it may still answer). */
type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

/**
 * Answers a connection whose request could not be read (fastify's clientErrorHandler): malformed HTTP is 400,
 * headers past the size limit 431, headers too slow 408, each in OpenAI's shape; then the connection closes.
 */
export function clientErrorAnswerer(limits: ClientLimits, log: FastifyBaseLogger): (err: ClientError, socket: Socket) => void {
  return (err, socket) => {
    // A reset, or a socket already closed: there is no one to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const error =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? headersTimeout(limits.headersTimeoutSeconds)
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? headersTooLarge(limits.maxHeaderBytes)
          : malformedRequest((err.reason ?? err.message).replace(/\.$/, ''));
    // No request came of it, so no access line: this one says what was answered, and to whom.
    log.info({ status: error.status, error: error.code, remote: socket.remoteAddress }, 'unreadable request');
    if (!socket.writable || (socket as HttpSocket)._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    // In the shape of the dialect the request was for, when its request line can be read.
    socket.end(rawErrorResponse(error, {}, pathOfRawRequest(err.rawPacket)), () => socket.destroy());
  };
}

/**
 * Each request's body has `seconds` after its headers to arrive in full. One sweep per server checks them all, so a
 * request costs a map entry, not a timer; entries are in arrival order, so a sweep stops at the first one in time.
 */
export class BodyDeadlines {
  private readonly since = new Map<ServerResponse, number>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly ms: number;

  constructor(private readonly seconds: number) {
    this.ms = seconds * 1000;
  }

  watch(res: ServerResponse): void {
    this.since.set(res, performance.now());
    this.sweeper ??= setInterval(() => this.sweep(), clamp(this.ms / 10, 25, 1000)).unref();
  }

  done(res: ServerResponse): void {
    this.since.delete(res);
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.since.clear();
  }

  private sweep(): void {
    const cutoff = performance.now() - this.ms;
    for (const [res, at] of this.since) {
      if (at > cutoff) break;
      this.since.delete(res);
      if (res.req.complete || res.destroyed) continue;
      // Not answered yet: 408, then the connection closes. Answered already (a 413 whose body still trickles in): close.
      if (!res.headersSent) sendError(res, bodyTimeout(this.seconds), undefined, true);
      else res.socket?.destroy();
    }
    if (this.since.size === 0) this.close();
  }
}
