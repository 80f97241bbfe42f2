// A Responses body checked against its schema; the first problem becomes a 400 in OpenAI's shape whose `param` names
// the field, as OpenAI's own answers do (`input[2].type`, `tools[0].type`, `background`).
import type { z } from 'zod';
import { invalidRequest } from '../../../core/index.js';

/** "input[0].content" rather than zod's array path, to read like OpenAI's `param`. */
function paramOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

/**
 * A plain union's own issue only says "Invalid input": the option that got furthest (its issue lies deepest) is what
 * the caller meant. A discriminated union's issue (no matching `type`) is kept: its message says what is served.
 */
function closestIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  const firsts = issue.errors.map((option) => option[0]).filter((i) => i !== undefined);
  const deepest = firsts.reduce((a, b) => (b.path.length > a.path.length ? b : a));
  if (deepest.path.length > 0) return closestIssue({ ...deepest, path: [...issue.path, ...deepest.path] });
  return issue;
}

/** A short rendering of the refused value, for the message. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
  return text === undefined ? '' : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function parseResponsesBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidRequest('The request body must be a JSON object.', null, 'invalid_body');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  // Parsed again to explain: with reportInput an issue carries the value it refused. Not on the first pass: any
  // parse option takes zod off its compiled path.
  const explained = schema.safeParse(body, { reportInput: true });
  const issue = closestIssue((explained.error ?? result.error).issues[0]!);
  if (issue.code === 'unrecognized_keys') {
    const param = paramOf([...issue.path, issue.keys[0]!]);
    throw invalidRequest(`'${param}' is not a parameter this server accepts; leave it out.`, param, 'unknown_parameter');
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue) {
    // The path ends at the discriminator already; the value refused is the object's type.
    const param = paramOf(issue.path);
    const type = (issue.input as { type?: unknown } | undefined)?.type;
    const what = type === undefined ? 'is required' : `${shown(type)} is not served here`;
    throw invalidRequest(`'${param}' ${what}: ${issue.message}.`, param, 'unsupported_value');
  }
  const param = paramOf(issue.path) || null;
  const what = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : `is invalid: ${issue.message}`;
  throw invalidRequest(param ? `'${param}' ${what}` : issue.message, param, issue.code === 'invalid_type' ? 'invalid_type' : 'invalid_value');
}
