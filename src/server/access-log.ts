// One log line per request, for the people who run the server: what was asked, by whom, how it ended, what it cost.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { AutoglmError, CONNECTION_DROPPED, type CallReport } from '../core/index.js';
import type { Principal } from '../tenancy/index.js';
import { cutForSlowReading, type StreamOutcome } from './streaming.js';

/** Errors that mean "not now" rather than "broken": a client may retry them, and they are no failure to page on. */
const NOT_NOW = new Set(['model_loading', 'starting', 'shutting_down']);
/** Levels at which an info line is not written: the line is then not even built. */
const ABOVE_INFO = new Set(['warn', 'error', 'fatal', 'silent']);

/** What one request did, filled in while it is served; its line is written when its response closes. */
export interface Exchange extends StreamOutcome {
  id: string;
  method: string;
  /** The route's pattern, or the path (without its query) when no route matched. */
  route: string;
  /** performance.now() when the request arrived. */
  started: number;
  headers: IncomingHttpHeaders;
  principal?: Principal;
  /** The model the request named. */
  model?: string;
  report?: CallReport;
}

/** The path of a URL without its query (which no line should carry: it may hold anything), cut to a readable length. */
export function pathOf(url: string | undefined): string {
  const path = url ?? '';
  const query = path.indexOf('?');
  const bare = query < 0 ? path : path.slice(0, query);
  return bare.length > 200 ? `${bare.slice(0, 200)}...` : bare;
}

/**
 * Writes the request's line: at info, or at error (once, with what was thrown) for a real server failure. Client
 * errors, "not now" answers (503 model_loading) and hang-ups are info lines with the error's code, never a stack.
 * API keys appear only as their id, never as the secret.
 */
export function logExchange(log: FastifyBaseLogger, x: Exchange, res: ServerResponse): void {
  const error = x.error;
  const dropped = error instanceof AutoglmError && error.code === CONNECTION_DROPPED;
  const cut = !res.writableFinished && cutForSlowReading.has(res);
  // As nginx logs it, 499 is a client that closed the connection before its answer was complete.
  const status = res.writableFinished || cut ? res.statusCode : dropped ? error.status : 499;
  // A hang-up's errors (an aborted call) are the hang-up's doing; a client error sent is the client's. What is left is
  // the server's: a failure answered with a 5xx, or one that ended a stream after its 200.
  const serverError = error !== undefined && (!(error instanceof AutoglmError) || (error.status >= 500 && !NOT_NOW.has(error.code)));
  const failed = serverError && !cut && (status >= 500 || status === 200);
  if (!failed && ABOVE_INFO.has(log.level)) return;
  const line = {
    reqId: x.id,
    method: x.method,
    route: x.route,
    status,
    ms: Math.round((performance.now() - x.started) * 10) / 10,
    tenant: x.principal?.tenant,
    key: x.principal?.keyId ?? undefined,
    model: x.report?.model ?? x.model,
    replica: x.report?.replica,
    promptTokens: x.usage?.promptTokens,
    completionTokens: x.usage?.completionTokens,
    cache: x.report?.cache,
    error: error instanceof AutoglmError ? error.code : failed ? 'internal_error' : undefined,
    closed: cut ? 'slow_reader' : status === 499 ? 'client' : undefined,
  };
  if (!failed) {
    log.info(line, 'request');
    return;
  }
  // Our own errors say what happened; anything else is a bug, whose stack is what a person needs to fix it.
  if (error instanceof AutoglmError) log.error({ ...line, message: error.message }, 'request failed');
  else log.error({ ...line, err: error }, 'request failed');
}
