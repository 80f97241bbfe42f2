// POST /v1/chat/completions and /v1/completions, whole or as SSE, served on node:http directly.
//
// Why not a fastify route like the others: these two carry nearly all traffic, and fastify's per-request machinery
// (request/reply objects, hooks, a child logger, content-type parsers, the websocket plugin's handler wrapper)
// measured as about a fifth of a gateway round trip. Everything else (admin, models, health, the UI, WebSocket, /infer)
// stays on fastify; both share the same errors, request ids, auth, metrics and call contexts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { complete, invalidRequest, toAutoglmError, type AutoglmError, type ChatCompletion, type ChatRequest } from '../../core/index.js';
import type { Principal } from '../../tenancy/index.js';
import { servingModel, type ServingState } from '../app.js';
import { invalidJson, requestTooLarge, sendError, unsupportedMediaType } from '../http-errors.js';
import { chatCompletionToWire, chatStreamEncoder, completionStreamEncoder, textCompletionToWire, type StreamEncoder } from '../openai-wire.js';
import { chatCompletionBody, chatRequestFromChat, chatRequestFromCompletion, completionBody, parseBody } from '../request-schema.js';
import { callContext, openStream, requestIdOf, writeSse, type Caller } from '../streaming.js';

/** One endpoint: how its body becomes a call, and how the answer is written. */
interface Endpoint {
  route: string;
  call(body: unknown): {
    req: ChatRequest;
    stream(answered: string): StreamEncoder;
    whole(result: ChatCompletion, answered: string): object;
  };
}

const ENDPOINTS = new Map<string, Endpoint>([
  ['/v1/chat/completions', {
    route: '/v1/chat/completions',
    call(raw) {
      const body = parseBody(chatCompletionBody, raw);
      const includeUsage = Boolean(body.stream_options?.include_usage);
      return {
        req: chatRequestFromChat(body),
        stream: (answered) => chatStreamEncoder({ model: answered, includeUsage }),
        whole: (result, answered) => chatCompletionToWire(answered, result),
      };
    },
  }],
  ['/v1/completions', {
    route: '/v1/completions',
    call(raw) {
      const body = parseBody(completionBody, raw);
      const req = chatRequestFromCompletion(body);
      const includeUsage = Boolean(body.stream_options?.include_usage);
      const echo = body.echo && req.input.type === 'text' ? req.input.text : undefined;
      return {
        req,
        stream: (answered) => withEcho(completionStreamEncoder({ model: answered, includeUsage }), echo),
        whole: (result, answered) => textCompletionToWire(answered, result, echo),
      };
    },
  }],
]);

export interface InferenceRouteOptions {
  state: ServingState;
  bodyLimitBytes: number;
  log: FastifyBaseLogger;
  /** Counts a finished request by route and status (the same counter fastify's routes feed). */
  count(route: string, status: number): void;
}

/**
 * A node:http listener for the inference routes: returns false for any other request, which fastify then serves.
 * A request it takes is answered here, whatever happens: an error becomes a 4xx/5xx in OpenAI's shape.
 */
export function inferenceRoutes(options: InferenceRouteOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const endpoint = ENDPOINTS.get(query < 0 ? url : url.slice(0, query));
    if (!endpoint) return false;
    const id = requestIdOf(req.headers);
    res.setHeader('x-request-id', id);
    res.once('close', () => options.count(endpoint.route, res.statusCode));
    void serve(options, endpoint, req, res, id);
    return true;
  };
}

async function serve({ state, bodyLimitBytes, log }: InferenceRouteOptions, endpoint: Endpoint, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  let reported: Record<string, string> | undefined;
  try {
    const principal: Principal | undefined = state.tenancy?.principal(req.headers.authorization, 'inference');
    const call = endpoint.call(await readBody(req, bodyLimitBytes));
    const model = servingModel(state, call.req.model);
    const caller: Caller = { id, headers: req.headers, principal };
    const ctx = callContext(caller, req.socket, res, state.inflight);
    reported = ctx.report.headers;
    if (!call.req.stream) {
      const result = await complete(model, call.req, ctx);
      const wire = call.whole(result, ctx.report.model ?? call.req.model);
      // What the reasoning layer did rides along as an extra field, which OpenAI clients ignore.
      const json = JSON.stringify(ctx.report.reasoning ? { ...wire, reasoning: ctx.report.reasoning } : wire);
      res.writeHead(200, { ...ctx.report.headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
      res.end(json);
      return;
    }
    const opened = await openStream(model, call.req, ctx);
    await writeSse(res, opened, call.stream(ctx.report.model ?? call.req.model), ctx.signal, ctx.report.headers);
  } catch (err) {
    // A client that hung up mid-request is not a server failure, and there is no one left to answer.
    if (res.destroyed || req.socket.destroyed) {
      log.debug({ reqId: id }, 'client went away before the answer');
      return;
    }
    const error: AutoglmError = toAutoglmError(err);
    if (error.status >= 500) log.error({ err, reqId: id }, 'request failed');
    sendError(res, error, reported);
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
      if (text.length === 0) return reject(invalidRequest("The request body is empty; send a JSON object with 'Content-Type: application/json'.", null, 'invalid_json'));
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(invalidJson((err as Error).message));
      }
    });
  });
}

/** `echo`: the prompt is sent back as the first text of every choice. */
function withEcho(encoder: StreamEncoder, echo: string | undefined): StreamEncoder {
  if (!echo) return encoder;
  const echoed = new Set<number>();
  return {
    encode(chunk) {
      if ((chunk.type === 'text-delta' || chunk.type === 'finish') && !echoed.has(chunk.index)) {
        echoed.add(chunk.index);
        return [...encoder.encode({ type: 'text-delta', index: chunk.index, text: echo }), ...encoder.encode(chunk)];
      }
      return encoder.encode(chunk);
    },
  };
}
