// How an upstream's failures reach our caller: the right status, a stable code, and whether another replica may help.
import { AutoglmError } from '../../core/index.js';

/** Retry-After in seconds from either form the header takes (delta-seconds or an HTTP date). */
export function retryAfterSeconds(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** The message (and the field it names, when it names one) from OpenAI's error shape, vLLM's flat one, or plain text. */
function upstreamError(body: string): { message: string; param: string | null } {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown; param?: unknown } | string; message?: unknown; param?: unknown };
    const nested = typeof parsed.error === 'object' ? parsed.error : undefined;
    const m = typeof parsed.error === 'string' ? parsed.error : (nested?.message ?? parsed.message);
    const param = nested?.param ?? parsed.param;
    if (typeof m === 'string') return { message: m, param: typeof param === 'string' ? param : null };
  } catch {
    // Not JSON: the text itself is the best message we have.
  }
  return { message: body.slice(0, 300) || 'no message', param: null };
}

export function errorFromUpstreamStatus(status: number, body: string, retryAfter: string | string[] | undefined, replica: string): AutoglmError {
  const { message, param } = upstreamError(body);
  if (status === 429) {
    return new AutoglmError(
      429,
      'rate_limit_error',
      'upstream_rate_limited',
      `Upstream ${replica} is rate limiting: ${message}`,
      null,
      retryAfterSeconds(retryAfter) ?? 1,
    );
  }
  // The gateway's own credentials were refused: the caller cannot fix that, so it is ours (502), not theirs (401).
  if (status === 401 || status === 403) {
    return new AutoglmError(502, 'server_error', 'upstream_auth_failed', `Upstream ${replica} refused the gateway's credentials: ${message}`);
  }
  if (status >= 500) {
    return new AutoglmError(
      502,
      'server_error',
      'upstream_error',
      `Upstream ${replica} failed with ${status}: ${message}`,
      null,
      retryAfterSeconds(retryAfter),
    );
  }
  // The caller's request was refused: which field, when the upstream says, is what lets them fix it.
  return new AutoglmError(status, 'invalid_request_error', 'upstream_rejected', `Upstream ${replica} rejected the request: ${message}`, param);
}

export function errorFromConnection(err: unknown, replica: string, phase: 'connect' | 'first-token' | 'total' | 'stream'): AutoglmError {
  const code = (err as { code?: string }).code ?? '';
  if (
    phase === 'first-token' ||
    phase === 'total' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return new AutoglmError(504, 'timeout_error', 'upstream_timeout', `Upstream ${replica} timed out (${phase === 'stream' ? 'waiting' : phase}).`);
  }
  const detail = err instanceof Error ? err.message : String(err);
  if (phase === 'stream') return new AutoglmError(502, 'server_error', 'upstream_disconnected', `Upstream ${replica} closed the stream early: ${detail}`);
  return new AutoglmError(502, 'server_error', 'upstream_unavailable', `Upstream ${replica} is unreachable: ${detail}`);
}
