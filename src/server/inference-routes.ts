// The inference endpoints of every wire dialect, whole or as SSE, served on node:http directly.
//
// Why not fastify routes like the others: these carry nearly all traffic, and fastify's per-request machinery
// (request/reply objects, hooks, a child logger, content-type parsers, the websocket plugin's handler wrapper)
// measured as about a fifth of a gateway round trip. Everything else (admin, models, health, the UI, WebSocket, /infer)
// stays on fastify; both share the same errors, request ids, auth, metrics and call contexts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { complete, toAutoglmError } from '../core/index.js';
import type { ServerSettings } from '../config/index.js';
import { logExchange, type Exchange } from './access-log.js';
import { servingModel, type ServingState } from './app.js';
import type { BodyDeadlines } from './client-guards.js';
import { emptyBody, invalidJson, requestTooLarge, sendError, unsupportedMediaType } from './http-errors.js';
import type { InferenceEndpoint } from './inference-endpoint.js';
import { callContext, openStream, requestIdOf, writeSse, type StreamLimits } from './streaming.js';
import type { RequestTrace } from '../observability/tracing/index.js';

export interface InferenceRouteOptions {
  state: ServingState;
  /** Every dialect's endpoints; fastify's route table learns their paths too, to answer other methods with 405. */
  endpoints: readonly InferenceEndpoint[];
  settings: Pick<ServerSettings, 'bodyLimitBytes' | 'streamStallSeconds' | 'streamQueueLimitBytes'>;
  /** The server's body deadlines: a body that does not arrive in time is answered 408 from there. */
  bodies: BodyDeadlines;
  log: FastifyBaseLogger;
  /** Counts a finished request by route and status (the same counter fastify's routes feed). */
  count(route: string, status: number): void;
}

/** What serving one request needs besides the request, bound once per server. */
interface Served {
  state: ServingState;
  bodyLimitBytes: number;
  bodies: BodyDeadlines;
  limits: StreamLimits;
}

/**
 * A node:http listener for the inference routes: returns false for any other request, which fastify then serves.
 * A request it takes is answered here, whatever happens: an error becomes a 4xx/5xx in OpenAI's shape.
 */
export function inferenceRoutes(options: InferenceRouteOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { state, settings, bodies, log, count } = options;
  const byPath = new Map(options.endpoints.map((e) => [e.path, e]));
  const served: Served = {
    state,
    bodyLimitBytes: settings.bodyLimitBytes,
    bodies,
    limits: { stallMs: settings.streamStallSeconds * 1000, queueLimitBytes: settings.streamQueueLimitBytes },
  };
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const endpoint = byPath.get(query < 0 ? url : url.slice(0, query));
    if (!endpoint) return false;
    // The exchange is also the call's caller: one object per request for both.
    const exchange: Exchange = { id: requestIdOf(req.headers), method: 'POST', route: endpoint.path, started: performance.now(), headers: req.headers };
    res.setHeader('x-request-id', exchange.id);
    bodies.watch(res);
    // One property check when tracing is off: no span, no traceparent read.
    const traced = state.tracing?.request(req.headers, endpoint.path);
    res.once('close', () => {
      bodies.done(res);
      count(endpoint.path, res.statusCode);
      logExchange(log, exchange, res);
      traced?.end(exchange, res.statusCode);
    });
    if (traced) traced.run(() => void serve(served, endpoint, exchange, req, res, traced));
    else void serve(served, endpoint, exchange, req, res);
    return true;
  };
}

async function serve(
  { state, bodyLimitBytes, bodies, limits }: Served,
  endpoint: InferenceEndpoint,
  exchange: Exchange,
  req: IncomingMessage,
  res: ServerResponse,
  traced?: RequestTrace,
): Promise<void> {
  try {
    const credential = endpoint.credential ? endpoint.credential(req.headers) : req.headers.authorization;
    exchange.principal = state.tenancy?.principal(credential, 'inference');
    const call = endpoint.call(await readBody(req, bodyLimitBytes), { principal: exchange.principal, headers: req.headers });
    bodies.done(res);
    exchange.model = call.req.model;
    const model = servingModel(state, call.req.model);
    const ctx = callContext(exchange, req.socket, res, state.inflight);
    exchange.report = ctx.report;
    if (traced) {
      ctx.trace = traced.trace;
      traced.describe(call.req);
    }
    if (!call.req.stream) {
      const result = await complete(model, call.req, ctx);
      exchange.usage = result.usage;
      const wire = call.whole(result, ctx.report.model ?? call.req.model, ctx.answerKey);
      // What the reasoning layer did rides along as an extra field, which OpenAI clients ignore. It replaces a field
      // of that name (a Response has one), so a dialect's ready JSON is read back only then.
      const reasoning = ctx.report.reasoning;
      const body: object | string = reasoning && typeof wire === 'string' ? (JSON.parse(wire) as object) : wire;
      const json = typeof body === 'string' ? body : JSON.stringify(reasoning ? { ...body, reasoning } : body);
      res.writeHead(200, { ...ctx.report.headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
      res.end(json);
      return;
    }
    const opened = await openStream(model, call.req, ctx);
    await writeSse(res, opened, call.stream(ctx.report.model ?? call.req.model, ctx.answerKey), ctx.signal, ctx.report.headers, limits, exchange);
  } catch (err) {
    // The access line logs it (a bug with what it threw, for its stack); a client that hung up is not answered.
    exchange.error = err;
    if (res.destroyed || req.socket.destroyed) return;
    sendError(res, toAutoglmError(err), exchange.report?.headers);
  }
}

/** application/json (and text/plain, which is then refused as not an object, as fastify does for other routes). */
function bodyKind(contentType: string | undefined): 'json' | 'text' | undefined {
  if (!contentType) return undefined;
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type === 'application/json' ? 'json' : type === 'text/plain' ? 'text' : undefined;
}

/** The body, parsed; 413 past the limit (without reading further), 415 for other media types, 400 for bad JSON. */
function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const kind = bodyKind(req.headers['content-type']);
  if (!kind) return Promise.reject(unsupportedMediaType());
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(requestTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        reject(requestTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('error', reject);
    // A connection cut (or timed out) before the body ended must not leave this call waiting forever. The error is
    // made only then: a stack trace on every request's close measured ~4 µs.
    req.once('close', () => {
      if (!req.complete) reject(new Error('the client closed the connection before the body ended'));
    });
    req.once('end', () => {
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      if (kind === 'text') return resolve(text);
      if (text.length === 0) return reject(emptyBody());
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(invalidJson((err as Error).message));
      }
    });
  });
}
