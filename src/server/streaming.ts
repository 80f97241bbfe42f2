// Running a ChatModel call for one HTTP request: cancellation on disconnect, first chunk before headers, SSE out.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import {
  CONNECTION_DROPPED,
  precededBy,
  toAutoglmError,
  type CallContext,
  type CallReport,
  type CallTrace,
  type ChatChunk,
  type ChatModel,
  type ChatRequest,
  type Usage,
} from '../core/index.js';
import type { Principal } from '../tenancy/index.js';
import { newId, type StreamEncoder } from './inference-endpoint.js';

/** Who is calling, as both fastify requests and the node:http inference routes know it. */
export interface Caller {
  id: string | number;
  headers: IncomingHttpHeaders;
  principal?: Principal;
  /** The request's span, when tracing is on: the layers below get its trace. */
  traced?: { trace: CallTrace };
}

const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The caller's own x-request-id when it is a safe token (for tracing across services), else a fresh one. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : newId('req_');
}

/**
 * A call context whose signal fires when the client goes away before the response is complete. The controller is
 * kept in `inflight` while the call runs, so shutdown can cancel what is still running once the drain time is over.
 */
export function callContext(
  caller: Caller,
  socket: Socket,
  res: ServerResponse,
  inflight: Set<AbortController>,
): CallContext & { report: CallReport; answerKey: string } {
  const controller = connectionController(socket);
  inflight.add(controller);
  res.once('close', () => inflight.delete(controller));
  return callerContext(caller, controller.signal);
}

/** Who is calling and how (key, session, cache wishes), with a fresh report: for HTTP calls and WebSocket messages. */
export function callerContext(caller: Caller, signal: AbortSignal): CallContext & { report: CallReport; answerKey: string } {
  return {
    signal,
    requestId: String(caller.id),
    answerKey: newId(''),
    tenant: caller.principal?.tenant,
    keyId: caller.principal?.keyId ?? undefined,
    cacheMode: cacheModeOf(caller.headers),
    sessionKey: sessionKeyOf(caller.headers),
    report: { headers: {} },
    trace: caller.traced?.trace,
  };
}

const sessionKeyOf = (headers: IncomingHttpHeaders) => {
  const key = headers['x-session-id'];
  return typeof key === 'string' && key ? key : undefined;
};

/** `x-autoglm-cache: force | bypass`, or Cache-Control's no-cache / no-store, which bypass. */
function cacheModeOf(headers: IncomingHttpHeaders): CallContext['cacheMode'] {
  const asked = headers['x-autoglm-cache'];
  if (asked === 'force' || asked === 'bypass') return asked;
  const control = headers['cache-control'];
  return control && /no-cache|no-store/.test(control) ? 'bypass' : 'auto';
}

const byConnection = new WeakMap<Socket, AbortController>();

/**
 * One controller per connection, aborted when the connection closes. HTTP/1.1 runs one request at a time on a
 * connection and a client can only go away by closing it, so keep-alive requests share the controller instead of
 * each building one (measured as 3% of a gateway round trip).
 */
function connectionController(socket: Socket): AbortController {
  let controller = byConnection.get(socket);
  if (!controller) {
    const created = new AbortController();
    byConnection.set(socket, created);
    socket.once('close', () => created.abort(new Error('client disconnected')));
    controller = created;
  }
  return controller;
}

export interface OpenedStream {
  first: IteratorResult<ChatChunk>;
  rest: AsyncIterator<ChatChunk>;
}

/**
 * Starts the stream and waits for its first chunk, so that errors raised before any output (unknown model,
 * prompt too long, queue full) still become a proper HTTP status instead of an event inside a 200 stream.
 */
export async function openStream(model: ChatModel, req: ChatRequest, ctx: CallContext): Promise<OpenedStream> {
  const rest = model.stream(req, ctx)[Symbol.asyncIterator]();
  const first = await rest.next();
  if (!first.done && first.value.type === 'error') throw first.value.error;
  return { first, rest };
}

/** The opened stream read from its first chunk on. */
export function chunksOf(opened: OpenedStream): AsyncIterable<ChatChunk> {
  return opened.first.done ? precededBy([], undefined) : precededBy([opened.first.value], opened.rest);
}

/** How long a stream may wait on a client that stopped reading, and how much may queue for it meanwhile. */
export interface StreamLimits {
  stallMs: number;
  queueLimitBytes: number;
}

/** What a stream ended with, for the access log: the usage it reported and the error it ended with, if any. */
export interface StreamOutcome {
  usage?: Usage;
  /** An AutoglmError, or whatever a bug threw. */
  error?: unknown;
}

/** Streams cut because their client stopped reading: the access log tells them from clients that hung up. */
export const cutForSlowReading = new WeakSet<ServerResponse>();

/**
 * Ends a stream whose client stopped reading. Destroying the response closes the connection, whose controller then
 * aborts the call: the engine frees the sequence, a remote engine its upstream request.
 */
function cutSlowReader(res: ServerResponse): void {
  cutForSlowReading.add(res);
  res.destroy();
}

/** Resolves when the socket drains or closes; a client that takes longer than `stallMs` to drain it is cut. */
function drainedWithin(res: ServerResponse, stallMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(stalled);
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    const stalled = setTimeout(() => {
      cutSlowReader(res);
      done();
    }, stallMs);
    res.once('drain', done);
    res.once('close', done);
  });
}

/**
 * Writes an opened stream as Server-Sent Events; an error after the headers ends the stream with an error event.
 * The usage and the error it ended with go to `outcome`.
 */
export async function writeSse(
  res: ServerResponse,
  opened: OpenedStream,
  encoder: StreamEncoder,
  signal: AbortSignal,
  headers: Record<string, string>,
  limits: StreamLimits,
  outcome: StreamOutcome,
): Promise<void> {
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // The first event goes out at once, with the headers: time to first token is what a caller waits on. Later writes
  // leave the token path: they are flushed one event-loop turn later, after llama.cpp's next batch has been
  // dispatched (node-llama-cpp dispatches on setImmediate), so the socket syscall overlaps with decoding instead of
  // delaying it. Pieces that arrive within one turn go out in one write.
  let buffered = '';
  let first = true;
  let scheduled = false;
  let backpressure: Promise<void> | undefined;
  const flush = () => {
    scheduled = false;
    if (!buffered || res.destroyed) return;
    const ok = res.write(buffered);
    buffered = '';
    if (ok) return;
    // Respect a slow reader: stop pulling tokens until the socket drains instead of buffering a whole generation;
    // one that lets too much queue up, or does not drain in time, is cut.
    if (res.writableLength > limits.queueLimitBytes) cutSlowReader(res);
    else
      backpressure ??= drainedWithin(res, limits.stallMs).then(() => {
        backpressure = undefined;
      });
  };
  // Queues an event; the caller waits on `backpressure` after a chunk's events, not a promise per event.
  const send = (data: string) => {
    buffered += encoder.framed ? data : `data: ${data}\n\n`;
    if (first) {
      first = false;
      flush();
    } else if (!scheduled) {
      scheduled = true;
      setImmediate(() => setImmediate(flush));
    }
  };
  try {
    for await (const chunk of chunksOf(opened)) {
      if (signal.aborted || res.destroyed) break;
      if (chunk.type === 'usage') outcome.usage = chunk.usage;
      else if (chunk.type === 'error') {
        outcome.error = chunk.error;
        if (chunk.error.code === CONNECTION_DROPPED) {
          res.destroy();
          break;
        }
      }
      for (const wire of encoder.encode(chunk)) send(wire);
      if (backpressure) await backpressure;
    }
  } catch (err) {
    const error = toAutoglmError(err);
    outcome.error = err;
    if (error.code === CONNECTION_DROPPED) res.destroy();
    if (!res.destroyed) for (const event of encoder.fail?.(error) ?? [JSON.stringify(error.toJSON())]) send(event);
    if (backpressure) await backpressure;
  } finally {
    await opened.rest.return?.();
  }
  if (!res.destroyed) res.end(`${buffered}${encoder.end ?? 'data: [DONE]\n\n'}`);
  buffered = '';
}
