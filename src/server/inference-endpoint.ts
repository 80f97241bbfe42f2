// What a wire dialect hands the inference fast path: the path it answers, how a body becomes a call, how the answer
// is written. OpenAI's chat and text completions are two such endpoints; every other dialect plugs in the same way.
import type { IncomingHttpHeaders } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AutoglmError, ChatChunk, ChatCompletion, ChatRequest } from '../core/index.js';
import type { Principal } from '../tenancy/index.js';

/** Turns a call's chunks into the dialect's stream events. A small state machine per stream. */
export interface StreamEncoder {
  /** The wire pieces for one chunk: bare `data` payloads, or whole SSE events when `framed`. */
  encode(chunk: ChatChunk): string[];
  /** Whether encode() returns whole SSE events (`event:` and `data:` lines, blank line after), written as they are. */
  readonly framed?: boolean;
  /** The events for an error raised after the headers went out; without it, the error's OpenAI JSON as a data event. */
  fail?(error: AutoglmError): string[];
  /** The stream's last write; without it, `data: [DONE]`. */
  readonly end?: string;
}

/** One request, translated: the call to make, and how its answer goes back whole or streamed. */
export interface EndpointCall {
  req: ChatRequest;
  /**
   * The stream's encoder, for the model that answered (a release's version, known once the call has started); the
   * answer's id is made of `answerKey` (the call context's).
   */
  stream(answered: string, answerKey: string): StreamEncoder;
  /** The whole answer's JSON body: an object, or its JSON text when the dialect made that already (to store it). */
  whole(result: ChatCompletion, answered: string, answerKey: string): object | string;
}

/** Who sent the body: a dialect may keep state per tenant (stored conversations) or read its own headers. */
export interface EndpointCaller {
  principal?: Principal;
  headers: IncomingHttpHeaders;
}

export interface InferenceEndpoint {
  /** The POST path this endpoint answers, without a query. */
  path: string;
  /** The caller's key as an Authorization header value; without it, the Authorization header itself. */
  credential?(headers: IncomingHttpHeaders): string | undefined;
  /** Validates and translates the parsed body; throws an AutoglmError (a 4xx) for what it cannot serve. */
  call(body: unknown, caller: EndpointCaller): EndpointCall;
}

/**
 * Response ids: a random per-process stem plus a counter. Unique without drawing fresh random bytes per response,
 * which measured as the single largest cost of a gateway round trip.
 */
const idStem = randomBytes(9).toString('base64url');
let idCounter = 0;
export const newId = (prefix: string): string => `${prefix}${idStem}${(idCounter++).toString(36)}`;
