// One whole-answer call to an upstream over undici's dispatch API: status, headers and the body collected as text.
//
// Why not `pool.request`: its response body is a Readable stream, with its own events and ticks, to hand over a few
// hundred bytes. Collecting the chunks in a dispatch handler measured ~7 µs less per gateway round trip (a sixth of
// it), and ~15 µs less latency at concurrency 1.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { watchAbort, type CallContext } from '../../core/index.js';

export interface UpstreamAnswer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Why a call failed, and whether the upstream had begun to answer (headers received) when it did. */
export class UpstreamCallError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly answering: boolean,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'UpstreamCallError';
  }
}

/**
 * Our headers plus the call's request id, so one id follows a request through the gateway's logs and the upstream's,
 * and, when the call is traced, its `traceparent`, so the upstream's spans (vLLM's) join the same trace.
 */
export function upstreamHeaders(base: readonly string[], ctx: CallContext): string[] {
  const headers = [...base, 'x-request-id', ctx.requestId];
  ctx.trace?.inject(headers);
  return headers;
}

/** Sends the request and resolves with the whole answer; the signal aborts it at any point. */
export function callUpstream(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSignal): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new UpstreamCallError(signal.reason, false));
    let controller: Dispatcher.DispatchController | undefined;
    let statusCode = 0;
    let headers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    const onAbort = () => controller?.abort(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const unwatch = watchAbort(signal, onAbort);
    dispatcher.dispatch(options, {
      onRequestStart(c) {
        controller = c;
        if (signal.aborted) onAbort();
      },
      onResponseStart(_c, status, received) {
        statusCode = status;
        headers = received;
      },
      onResponseData(_c, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        unwatch();
        resolve({ statusCode, headers, text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8') });
      },
      onResponseError(_c, err) {
        unwatch();
        reject(new UpstreamCallError(err, statusCode >= 200));
      },
    });
  });
}
