// The HTTP server: fastify with OpenAI-shaped errors, request ids, metrics, access logs and the wire-format routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import { modelNotFound, type ChatModel, type EmbeddingModel, type ModelInfo } from '../core/index.js';
import { serverSettingsSchema, type ServerSettings } from '../config/index.js';
import type { ServerMetrics } from '../observability/index.js';
import { parseStrategyModel, unknownStrategyPrefix } from '../reasoning/index.js';
import type { ReleaseManager } from '../router/index.js';
import type { Principal, Scope, Tenancy } from '../tenancy/index.js';
import type { ReloadStatus } from './gateway-runtime.js';
import { adminRoutes } from './routes/admin.js';
import { promptRoutes } from './routes/prompts.js';
import { feedbackRoutes } from './routes/feedback.js';
import { responsesRoutes } from './dialects/responses/index.js';
import { uiRoutes } from './routes/ui.js';
import { healthRoutes } from './routes/health.js';
import { inferRoutes } from './routes/infer.js';
import { openAIRoutes } from './routes/openai.js';
import { embeddingsRoutes } from './routes/embeddings.js';
import { websocketRoutes } from './routes/websocket.js';
import { countTokensRoutes } from './dialects/anthropic/index.js';
import { logExchange, pathOf, type Exchange } from './access-log.js';
import { BodyDeadlines, clientErrorAnswerer, guardedServer } from './client-guards.js';
import { answerErrors, replyWithError } from './fastify-errors.js';
import { fromFastifyError, missingHost, modelLoading, sendError, shuttingDown } from './http-errors.js';
import type { RequestTrace, Tracing } from '../observability/tracing/index.js';
import { inferenceRoutes } from './inference-routes.js';
import { inferenceEndpoints } from './inference-endpoints.js';
import { RouteTable } from './route-table.js';
import { requestIdOf } from './streaming.js';

/** What the routes serve. `model` is undefined while the engine is still loading (ready = false). */
export interface ServingState {
  model?: ChatModel;
  /** The models that make embeddings (/v1/embeddings), when any of those served can. */
  embedder?: EmbeddingModel;
  /** Model used by /infer when the body names none. */
  defaultModel?: string;
  metrics: ServerMetrics;
  /** Calls still running, cancelled when shutdown's drain time runs out. */
  inflight: Set<AbortController>;
  /** Keys, limits and the usage ledger; undefined only while the server starts. */
  tenancy?: Tenancy;
  /** Re-reads the config file (POST /admin/reload); absent without a config file. */
  reload?: () => Promise<void>;
  /** Model versions and their rollouts, when serving a gateway config. */
  releases?: { releases: ReleaseManager; reloadStatus: ReloadStatus };
  /** Every replica's health and load, when serving a gateway config. */
  replicas?: () => ReplicaStatus[];
  /** Set on SIGTERM: /ready answers 503 so balancers stop sending, while requests are still served. */
  draining?: boolean;
  /** Traces of requests, when tracing is on; absent, nothing on the request path looks at tracing again. */
  tracing?: Tracing;
}

export interface ReplicaStatus {
  model: string;
  id: string;
  available: boolean;
  breaker: string;
  outstanding: number;
  ewmaTtftMs: number | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** What the routes serve, for the process around the server (shutdown marks it draining). */
    servingState: ServingState;
  }
  interface FastifyContextConfig {
    /** The scope a key needs for this route; routes without one (health, metrics) are open. */
    scope?: Scope;
  }
  interface FastifyRequest {
    principal?: Principal;
    /**
     * What this request did, for its access-log line; the layers' report in it (`exchange.report`) holds headers that
     * go out with errors too.
     */
    exchange: Exchange;
    /** This request's span, on the model calls fastify serves when tracing is on. */
    traced?: RequestTrace;
  }
}

export interface AppOptions {
  state: ServingState;
  /** Limits and deadlines; what is left out takes its default. */
  server?: Partial<ServerSettings>;
  logger?: FastifyBaseLogger;
}

/** A request declares a body with a length or a chunked encoding; only those get a body deadline. */
const hasBody = (req: IncomingMessage) =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

export async function buildApp({ state, server, logger }: AppOptions): Promise<FastifyInstance> {
  const settings = serverSettingsSchema.parse(server ?? {});
  const count = (route: string, status: number) => state.metrics.requests.tally(route, String(status)).inc();
  const bodies = new BodyDeadlines(settings.bodyTimeoutSeconds);
  const routes = new RouteTable();
  let closing = false;
  // The inference routes answer on node:http before fastify sees the request (see inference-routes.ts); they and the
  // socket-level error answers are bound once the app (and its logger) exists.
  let inference: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  let answerClientError: ReturnType<typeof clientErrorAnswerer> | undefined;

  /** Request id, body deadline, metrics and the access-log line, for every request fastify serves. */
  const track = (request: FastifyRequest, reply: FastifyReply) => {
    const res = reply.raw;
    res.setHeader('x-request-id', String(request.id));
    const route = request.routeOptions.url;
    const exchange: Exchange = {
      id: String(request.id),
      method: request.method,
      route: route ?? pathOf(request.url),
      started: performance.now(),
      headers: request.headers,
    };
    request.exchange = exchange;
    if (hasBody(request.raw)) bodies.watch(res);
    // On close, so hijacked streams and aborted requests are counted and logged too.
    res.once('close', () => {
      bodies.done(res);
      // A known path asked with a wrong method (405) or an over-long parameter (414) counts under its route; only
      // paths no route knows are 'unmatched', which keeps the label's values bounded.
      count(route ?? routes.routeOf(pathOf(request.url)) ?? 'unmatched', res.statusCode);
      logExchange(app.log, exchange, res);
    });
  };

  const app = Fastify({
    loggerInstance: logger,
    // fastify's own two lines per request give way to the access log's one.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: settings.bodyLimitBytes,
    genReqId: (req) => requestIdOf(req.headers),
    // Shutting down is answered in front of fastify, in the same shape for every route.
    return503OnClosing: false,
    frameworkErrors: (err, request, reply) => {
      track(request, reply);
      replyWithError(request, reply, fromFastifyError(err));
    },
    clientErrorHandler: (err, socket) => answerClientError?.(err, socket),
    serverFactory: (handler) =>
      guardedServer(settings, (req, res) => {
        // Draining: each answer closes its connection, so keep-alive clients reconnect elsewhere and none sits idle
        // holding the drain open until its keep-alive timeout.
        if (state.draining) res.setHeader('connection', 'close');
        if (closing) sendError(res, shuttingDown(), undefined, true);
        else if (req.headers.host === undefined && req.httpVersion === '1.1') sendError(res, missingHost(), undefined, true);
        else if (!inference?.(req, res)) handler(req, res);
      }),
  });
  answerClientError = clientErrorAnswerer(settings, app.log);
  app.decorate('servingState', state);
  const endpoints = inferenceEndpoints(state);
  inference = inferenceRoutes({ state, endpoints, settings, bodies, log: app.log, count });
  for (const { path } of endpoints) routes.add('POST', path);
  app.addHook('onRoute', (route) => routes.add(route.method, route.url));
  app.addHook('preClose', (done) => {
    closing = true;
    // Keep-alive connections whose answers finish during the drain are closed as they go idle, not when the client's
    // keep-alive timeout ends: otherwise they hold the exit open for seconds after the last answer.
    const idle = setInterval(() => app.server.closeIdleConnections(), 200);
    idle.unref();
    app.server.once('close', () => clearInterval(idle));
    done();
  });
  app.addHook('onClose', (_app, done) => {
    bodies.close();
    done();
  });
  // A callback hook, not an async one: it runs on every request and needs no promise.
  app.addHook('onRequest', (request, reply, done) => {
    track(request, reply);
    done();
  });

  // Who is calling, for every route that names a scope: 401 without a valid key, 403 without the scope.
  app.addHook('preHandler', (request, _reply, done) => {
    const scope = request.routeOptions.config.scope;
    if (!scope || !state.tenancy) return done();
    try {
      request.principal = request.exchange.principal = state.tenancy.principal(request.headers.authorization, scope);
      done();
    } catch (err) {
      done(err as Error);
    }
  });

  if (state.tracing) traceModelCalls(app, state.tracing);
  answerErrors(app, routes);
  await app.register(websocket, { options: { maxPayload: settings.bodyLimitBytes } });
  await app.register(healthRoutes(state));
  await app.register(openAIRoutes(state));
  await app.register(embeddingsRoutes(state));
  await app.register(inferRoutes(state));
  await app.register(countTokensRoutes(state));
  await app.register(websocketRoutes(state, settings.streamQueueLimitBytes));
  await app.register(adminRoutes(state));
  await app.register(promptRoutes(state));
  await app.register(feedbackRoutes(state));
  await app.register(responsesRoutes(state));
  await app.register(uiRoutes);
  return app;
}

/** The model calls fastify serves, traced like the inference routes (which are traced where they are served). */
const TRACED_ROUTES = new Set(['/v1/embeddings', '/infer']);

/**
 * A span for each call of TRACED_ROUTES, the handler run inside it so its layers' spans nest there. Added only when
 * tracing is on: off, fastify runs no hook for it.
 */
function traceModelCalls(app: FastifyInstance, tracing: Tracing): void {
  app.addHook('preHandler', (request, reply, done) => {
    const route = request.routeOptions.url;
    if (request.method !== 'POST' || route === undefined || !TRACED_ROUTES.has(route)) return done();
    const traced = tracing.request(request.headers, route);
    request.traced = traced;
    reply.raw.once('close', () => traced.end(request.exchange, reply.raw.statusCode));
    traced.run(done);
  });
}

const idsByList = new WeakMap<readonly ModelInfo[], Set<string>>();
/**
 * The names a ChatModel serves, computed once per list: the list is checked on every request, and a gateway whose
 * config is reloaded hands out a new list, so names follow reloads.
 */
function servedIds(model: ChatModel): Set<string> {
  const list = model.models();
  let ids = idsByList.get(list);
  if (!ids) idsByList.set(list, (ids = new Set(list.map((m) => m.id))));
  return ids;
}

/** The model for a request, or the reason it cannot be served right now. */
export function servingModel(state: ServingState, name: string | undefined): ChatModel {
  const model = state.model;
  if (!model) throw modelLoading();
  // `sc:glm-4` is glm-4 with a reasoning strategy.
  const ids = servedIds(model);
  if (name !== undefined && !ids.has(name) && !ids.has(parseStrategyModel(name).model)) {
    // `magic:glm-4` names a strategy that does not exist, not a model.
    throw (
      unknownStrategyPrefix(name, (id) => ids.has(id)) ??
      modelNotFound(
        name,
        model.models().map((m) => m.id),
      )
    );
  }
  return model;
}
