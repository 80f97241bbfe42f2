// A request body checked against a Messages schema; what is refused is a 400 whose message starts with the field's
// path, as Anthropic's do ("max_tokens: Field required").
import type { z } from 'zod';
import { invalidRequest } from '../../../core/index.js';

/** `messages.0.content.1.type`, Anthropic's way of naming a field. */
const pathText = (path: readonly PropertyKey[]): string => path.map(String).join('.');

/** The option of a union that got furthest is what the caller meant; its issue is the one worth reporting. */
function closestIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  const firsts = issue.errors.map((option) => option[0]).filter((i) => i !== undefined);
  const deepest = firsts.reduce((a, b) => (b.path.length > a.path.length ? b : a));
  if (deepest.path.length > 0) return closestIssue({ ...deepest, path: [...issue.path, ...deepest.path] });
  const expected = firsts.map((i) => (i.code === 'invalid_type' ? i.expected : undefined));
  if (expected.some((e) => e === undefined)) return issue;
  return { ...firsts[0]!, path: issue.path, message: `expected ${expected.join(' or ')}` } as z.core.$ZodIssue;
}

/** What is wrong, in words, and the field it is about. */
function explain(issue: z.core.$ZodIssue): { field: string; message: string } {
  const field = pathText(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const named = field ? `${field}.${key}` : key;
    return { field: named, message: `${named}: this field is not supported here; send the request without it` };
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator) {
    // zod's path may end at the tag itself; the input it reports is the object that holds it.
    const onTag = issue.path.at(-1) === issue.discriminator;
    const holder = pathText(onTag ? issue.path.slice(0, -1) : issue.path);
    const input = issue.input;
    const tag = input !== null && typeof input === 'object' ? (input as Record<string, unknown>)[issue.discriminator] : input;
    const named = `${holder ? `${holder}.` : ''}${issue.discriminator}`;
    return {
      field: named,
      message: tag === undefined ? `${named}: Field required` : `${named}: ${JSON.stringify(tag)} is not supported here (${optionsOf(holder)})`,
    };
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return { field, message: `${field}: Field required` };
  return { field, message: field ? `${field}: ${issue.message}` : issue.message };
}

/** The tags a discriminated field takes, by where it is. */
function optionsOf(field: string): string {
  if (/^messages\.\d+\.content\.\d+$/.test(field)) return 'content blocks are text, image, tool_use or tool_result';
  if (field === 'tool_choice') return 'tool_choice is auto, any, tool or none';
  if (/source$/.test(field)) return 'an image source is base64 or url';
  return 'see the Messages API reference';
}

export function parseAnthropicBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidRequest('The request body must be a JSON object.', null, 'invalid_body');
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  // Parsed again to explain, with the refused values: a parse option takes zod off its compiled path (~4x slower).
  const explained = schema.safeParse(body, { reportInput: true });
  const { field, message } = explain(closestIssue((explained.error ?? result.error).issues[0]!));
  throw invalidRequest(message, field || null, 'invalid_value');
}
