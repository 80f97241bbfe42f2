// A request body checked against a Messages schema; what is refused is a 400 whose message starts with the field's
// path, as Anthropic's do ("max_tokens: Field required").
import type { z } from 'zod';
import { invalidRequest } from '../../../core/index.js';
import { checkBody, closestIssue } from '../../body-issues.js';

/** `messages.0.content.1.type`, Anthropic's way of naming a field. */
const pathText = (path: readonly PropertyKey[]): string => path.map(String).join('.');

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
  const checked = checkBody(schema, body);
  if ('data' in checked) return checked.data;
  const { field, message } = explain(closestIssue(checked.issue, true));
  throw invalidRequest(message, field || null, 'invalid_value');
}
