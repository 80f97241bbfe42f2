// A Responses body checked against its schema; the first problem becomes a 400 in OpenAI's shape whose `param` names
// the field, as OpenAI's own answers do (`input[2].type`, `tools[0].type`, `background`).
import type { z } from 'zod';
import { invalidRequest } from '../../../core/index.js';
import { checkBody, closestIssue, paramOf } from '../../body-issues.js';

/** A short rendering of the refused value, for the message. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
  return text === undefined ? '' : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function parseResponsesBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const checked = checkBody(schema, body);
  if ('data' in checked) return checked.data;
  // Without the expected-types rewording: a discriminated union's own issue says what is served.
  const issue = closestIssue(checked.issue, false);
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
