// The HTTP server: fastify with OpenAI-shaped errors, request ids, metrics and the wire-format routes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { AutoglmError, modelNotFound, type CallReport, type ChatModel, type ModelInfo } from '../core/index.js';
import { boundOnce, type ServerMetrics } from '../observability/index.js';
import { parseStrategyModel, unknownStrategyPrefix } from '../reasoning/index.js';
import type { ReleaseManager } from '../router/index.js';
import type { Principal, Scope, Tenancy } from '../tenancy/index.js';
import type { ReloadStatus } from './gateway-runtime.js';
import { adminRoutes } from './routes/admin.js';
import { uiRoutes } from './routes/ui.js';
import { healthRoutes } from './routes/health.js';
import { inferRoutes } from './routes/infer.js';
import { openAIRoutes } from './routes/openai.js';
import { websocketRoutes } from './routes/websocket.js';
import { errorHeaders, fromFastifyError } from './http-errors.js';
import { inferenceRoutes } from './routes/openai-inference.js';
import { requestIdOf } from './streaming.js';

/** What the routes serve. `model` is undefined while the engine is still loading (ready = false). */
export interface ServingState {
  model?: ChatModel;
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
  interface FastifyContextConfig {
    /** The scope a key needs for this route; routes without one (health, metrics) are open. */
    scope?: Scope;
  }
  interface FastifyRequest {
    principal?: Principal;
    /** What the layers reported while serving this request: its headers go out with errors too. */
    callReport?: CallReport;
  }
}

/** Idle keep-alive connections stay open this long (fastify's default). */
const KEEP_ALIVE_MS = 72_000;
const REQUEST_TIMEOUT_MS = 30_000;

export interface AppOptions {
  state: ServingState;
  bodyLimitBytes: number;
  logger?: FastifyBaseLogger;
}

export async function buildApp({ state, bodyLimitBytes, logger }: AppOptions): Promise<FastifyInstance> {
  const requests = boundOnce((route, status) => state.metrics.requests.labels(route, status));
  const count = (route: string, status: number) => requests(route, String(status)).inc();
  // The inference routes answer on node:http before fastify sees the request (see openai-inference.ts); they are
  // bound once the app (and its logger) exists.
  let inference: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: bodyLimitBytes,
    genReqId: (req) => requestIdOf(req.headers),
    serverFactory: (handler) => {
      const server = createServer((req, res) => {
        if (!inference?.(req, res)) handler(req, res);
      });
      server.keepAliveTimeout = KEEP_ALIVE_MS;
      // A client that trickles its body is cut off instead of holding a connection forever.
      server.requestTimeout = REQUEST_TIMEOUT_MS;
      return server;
    },
  });
  inference = inferenceRoutes({ state, bodyLimitBytes, log: app.log, count });
  // A callback hook, not an async one: it runs on every request and needs no promise.
  app.addHook('onRequest', (request, reply, done) => {
    reply.raw.setHeader('x-request-id', String(request.id));
    // Counted on close, so hijacked streams and aborted requests are counted too.
    reply.raw.once('close', () => count(request.routeOptions.url ?? 'unmatched', reply.raw.statusCode));
    done();
  });

  // Who is calling, for every route that names a scope: 401 without a valid key, 403 without the scope.
  app.addHook('preHandler', (request, _reply, done) => {
    const scope = request.routeOptions.config.scope;
    if (!scope || !state.tenancy) return done();
    try {
      request.principal = state.tenancy.principal(request.headers.authorization, scope);
      done();
    } catch (err) {
      done(err as Error);
    }
  });

  app.setErrorHandler((err: FastifyError | AutoglmError, request, reply) => {
    // A client that hung up mid-request is not a server failure, and there is no one left to answer.
    if (reply.raw.destroyed || request.raw.socket?.destroyed) {
      request.log.debug({ reqId: request.id }, 'client went away before the answer');
      return;
    }
    const error = err instanceof AutoglmError ? err : fromFastifyError(err);
    if (error.status >= 500) request.log.error({ err }, 'request failed');
    return reply.code(error.status).headers(errorHeaders(error, request.callReport?.headers)).send(error.toJSON());
  });

  app.setNotFoundHandler((request, reply) => {
    const error = new AutoglmError(404, 'invalid_request_error', 'unknown_url', `Unknown request URL: ${request.method} ${request.url}.`);
    return reply.code(404).send(error.toJSON());
  });

  await app.register(websocket, { options: { maxPayload: bodyLimitBytes } });
  await app.register(healthRoutes(state));
  await app.register(openAIRoutes(state));
  await app.register(inferRoutes(state));
  await app.register(websocketRoutes(state));
  await app.register(adminRoutes(state));
  await app.register(uiRoutes);
  return app;
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
  if (!model) throw new AutoglmError(503, 'server_error', 'model_loading', 'The model is still loading; retry shortly.', null, 2);
  // `sc:glm-4` is glm-4 with a reasoning strategy.
  const ids = servedIds(model);
  if (name !== undefined && !ids.has(name) && !ids.has(parseStrategyModel(name).model)) {
    // `magic:glm-4` names a strategy that does not exist, not a model.
    throw unknownStrategyPrefix(name, (id) => ids.has(id)) ?? modelNotFound(name, model.models().map((m) => m.id));
  }
  return model;
}
