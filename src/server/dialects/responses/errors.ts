// The Responses API's own refusals, in OpenAI's error shape (this is an OpenAI dialect): unknown stored responses.
import { AutoglmError } from '../../../core/index.js';

/** GET or DELETE of an id this tenant has no response by (another tenant's included: its existence is not told). */
export const responseNotFound = (id: string) =>
  new AutoglmError(404, 'invalid_request_error', 'response_not_found', `No response found with id '${id}'.`, 'response_id');

/**
 * A previous_response_id this tenant has no response by. OpenAI answers it with a 400 (the request is what is wrong,
 * not the URL), code `previous_response_not_found`; so do we.
 */
export const previousResponseNotFound = (id: string) =>
  new AutoglmError(
    400,
    'invalid_request_error',
    'previous_response_not_found',
    `Previous response with id '${id}' not found: it was never stored (store: false), has expired or was deleted, or belongs to another key's tenant.`,
    'previous_response_id',
  );
