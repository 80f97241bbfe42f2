// What every dialect's 400 for a bad body starts from: the body must be a JSON object, and the first issue zod finds,
// with the union option the caller meant. Each dialect then words it in its own style (OpenAI's `param`,
// Anthropic's dotted path), so this lives beside them rather than in any one of them.
import type { z } from 'zod';
import { invalidRequest } from '../core/index.js';

/** "messages[0].content" rather than zod's array path, to read like OpenAI's `param`. */
export function paramOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

/**
 * A union's own issue only says "Invalid input". The option that got furthest (its issue lies deepest) is what the
 * caller meant, so its issue is reported. When none got past the value itself, `expectedTypes` makes the message
 * list the types the options expected; without it the union's issue is kept (a discriminated union's says what is
 * served).
 */
export function closestIssue(issue: z.core.$ZodIssue, expectedTypes: boolean): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  const firsts = issue.errors.map((option) => option[0]).filter((i) => i !== undefined);
  const deepest = firsts.reduce((a, b) => (b.path.length > a.path.length ? b : a));
  if (deepest.path.length > 0) return closestIssue({ ...deepest, path: [...issue.path, ...deepest.path] }, expectedTypes);
  if (!expectedTypes) return issue;
  const expected = firsts.map((i) => (i.code === 'invalid_type' ? i.expected : undefined));
  const first = firsts[0]!;
  if (first.code !== 'invalid_type' || expected.some((e) => e === undefined)) return issue;
  return { ...first, path: issue.path, message: `expected ${expected.join(' or ')}` };
}

/**
 * The body as the schema reads it, or the first issue that refuses it (not yet narrowed by closestIssue); a body that
 * is not a JSON object is a 400 at once.
 */
export function checkBody<T extends z.ZodType>(schema: T, body: unknown): { data: z.infer<T> } | { issue: z.core.$ZodIssue } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidRequest('The request body must be a JSON object.', null, 'invalid_body');
  }
  const result = schema.safeParse(body);
  if (result.success) return { data: result.data };
  // Parsed again to explain: with reportInput an issue carries the value it refused, which tells "is required" from
  // "has the wrong type". Not on the first pass: any parse option takes zod off its compiled path (~4x slower).
  const explained = schema.safeParse(body, { reportInput: true });
  return { issue: (explained.error ?? result.error).issues[0]! };
}
