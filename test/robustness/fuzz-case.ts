// What one fuzz case is, and what every answer must be: never a 5xx, never silence, errors in OpenAI's shape.
import type { Outcome, Piece, RawResponse } from './raw-http.js';

export interface FuzzCase {
  /** Reads as what was sent, e.g. `POST /v1/chat/completions: temperature = "text"`. */
  name: string;
  pieces: Piece[];
  head?: boolean;
  /** A close without an answer is acceptable (the bytes were not HTTP, or the client stalled). */
  mayClose?: boolean;
  /** How long the case may take before it counts as a hang (default: the suite's limit). */
  limitMs?: number;
  /** The problem with an error body in this case's dialect, or undefined (default: OpenAI's shape). */
  errorShape?: (response: RawResponse) => string | undefined;
  /** What this case asks beyond the rules for every case: a problem found, or undefined. */
  expect?: (response: RawResponse) => string | undefined;
}

/** The method of a case's request line, when its first bytes are one. */
function methodOf(c: FuzzCase): string | undefined {
  const first = c.pieces[0];
  const text = typeof first === 'string' ? first : Buffer.isBuffer(first) ? first.subarray(0, 16).toString('latin1') : '';
  return /^([A-Z]+) /.exec(text)?.[1];
}

const excerpt = (b: Buffer) => JSON.stringify(b.subarray(0, 160).toString('utf8'));

/** The problem with an error body, or undefined when it is {"error":{"message","type","param","code"}} as JSON. */
export function openAIErrorProblem(response: RawResponse): string | undefined {
  const type = response.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) return `error ${response.status} has content-type ${JSON.stringify(type)}, not JSON: ${excerpt(response.body)}`;
  let json: unknown;
  try {
    json = JSON.parse(response.body.toString('utf8'));
  } catch {
    return `error ${response.status} body is not JSON: ${excerpt(response.body)}`;
  }
  const error = (json as { error?: unknown } | null)?.error as Record<string, unknown> | undefined;
  const keys = json && typeof json === 'object' ? Object.keys(json) : [];
  if (!error || typeof error !== 'object' || keys.length !== 1) return `error ${response.status} is not in OpenAI's shape: ${excerpt(response.body)}`;
  const fields = Object.keys(error).sort().join(',');
  if (fields !== 'code,message,param,type') return `error ${response.status} has fields ${fields}, not code,message,param,type: ${excerpt(response.body)}`;
  if (typeof error.message !== 'string' || error.message.length === 0) return `error ${response.status} has no message`;
  if (typeof error.type !== 'string') return `error ${response.status} has a non-string type`;
  if (error.param !== null && typeof error.param !== 'string') return `error ${response.status} has a param that is neither a string nor null`;
  if (error.code !== null && typeof error.code !== 'string') return `error ${response.status} has a code that is neither a string nor null`;
  return undefined;
}

/** The error object of an OpenAI-shaped body (after openAIErrorProblem found none). */
export function errorOf(response: RawResponse): { message: string; type: string; param: string | null; code: string | null } {
  return (JSON.parse(response.body.toString('utf8')) as { error: { message: string; type: string; param: string | null; code: string | null } }).error;
}

/** Every problem with one outcome: the rules for all cases, then the case's own. */
export function problemsOf(c: FuzzCase, outcome: Outcome, limitMs: number): string[] {
  if (outcome.kind === 'hang') return [`no answer and no close within ${limitMs} ms (got ${JSON.stringify(outcome.partial)})`];
  if (outcome.kind === 'closed')
    return c.mayClose ? [] : [`the connection closed without an answer after ${outcome.ms} ms (got ${JSON.stringify(outcome.partial)})`];
  const { response } = outcome;
  const problems: string[] = [];
  if (response.status >= 500) problems.push(`answered ${response.status}: ${excerpt(response.body)}`);
  if (response.status >= 400 && !c.head) {
    const shape = (c.errorShape ?? openAIErrorProblem)(response);
    if (shape) problems.push(shape);
  }
  // A 405 names what the route does take (RFC 9110 asks for an Allow header), and never the method it refused.
  const method = methodOf(c);
  if (response.status === 405 && method) {
    const allow = (response.headers.allow ?? '').split(',').map((m) => m.trim().toUpperCase());
    if (!response.headers.allow) problems.push(`405 without an Allow header`);
    else if (allow.includes(method)) problems.push(`405 for ${method}, yet Allow lists ${response.headers.allow}`);
  }
  if (problems.length === 0 && c.expect) {
    const own = c.expect(response);
    if (own) problems.push(own);
  }
  return problems;
}

/** An expectation that the status is one of these. */
export const statusIn =
  (...statuses: number[]) =>
  (r: RawResponse) =>
    statuses.includes(r.status) ? undefined : `expected ${statuses.join(' or ')}, got ${r.status}: ${excerpt(r.body)}`;

/** An expectation that the answer is a client error (4xx). */
export const clientError = (r: RawResponse) => (r.status >= 400 && r.status < 500 ? undefined : `expected a 4xx, got ${r.status}: ${excerpt(r.body)}`);
