// OpenAI's /v1/embeddings body and answer, translated to and from our EmbeddingRequest / Embeddings at the edge.
import { z } from 'zod';
import { invalidRequest, type EmbeddingInput, type EmbeddingRequest, type Embeddings } from '../core/index.js';
import { parseBody } from './request-schema.js';

/** OpenAI's limit on inputs per request. */
export const MAX_EMBEDDING_INPUTS = 2048;

const embeddingsBody = z.object({
  model: z.string().min(1),
  // Checked by hand below: a union's issues would not say which input is wrong, or how.
  input: z.unknown(),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().min(1).nullish(),
  user: z.string().nullish(),
});

export type EncodingFormat = 'float' | 'base64';

const isTokenId = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;
const isTokenArray = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every(isTokenId);

const wrongType = (param: string) =>
  invalidRequest(`'${param}' must be a string, an array of strings, an array of token ids, or an array of arrays of token ids.`, 'input', 'invalid_type');

/** `input` as OpenAI takes it: a string, strings, one token array, or token arrays; never empty, at most 2048. */
function inputsOf(input: unknown): EmbeddingInput[] {
  if (input === undefined || input === null) throw invalidRequest("'input' is required", 'input', 'invalid_type');
  if (typeof input === 'string') {
    if (input.length === 0) throw invalidRequest("'input' must not be an empty string.", 'input');
    return [input];
  }
  if (!Array.isArray(input)) throw wrongType('input');
  if (input.length === 0) throw invalidRequest("'input' must not be an empty array.", 'input');
  if (input.length > MAX_EMBEDDING_INPUTS) {
    throw invalidRequest(
      `'input' holds ${input.length} inputs; at most ${MAX_EMBEDDING_INPUTS} are embedded per request. Send them in several requests.`,
      'input',
    );
  }
  // One array of token ids is one input.
  if (input.every(isTokenId)) return [input];
  return input.map((item: unknown, index) => {
    if (typeof item === 'string') {
      if (item.length === 0) throw invalidRequest(`'input[${index}]' must not be an empty string.`, 'input');
      return item;
    }
    if (Array.isArray(item) && item.length === 0) throw invalidRequest(`'input[${index}]' must not be an empty array.`, 'input');
    if (isTokenArray(item)) return item;
    throw wrongType(`input[${index}]`);
  });
}

/** The body as our request, and how its answer is to be written. */
export function embeddingRequestFromWire(raw: unknown): { req: EmbeddingRequest; encoding: EncodingFormat } {
  const body = parseBody(embeddingsBody, raw);
  const req: EmbeddingRequest = { model: body.model, inputs: inputsOf(body.input) };
  if (body.dimensions != null) req.dimensions = body.dimensions;
  if (body.user != null) req.user = body.user;
  return { req, encoding: body.encoding_format ?? 'float' };
}

/** A vector as OpenAI's base64: its float32 values, little-endian, whatever the machine's byte order. */
export function base64Vector(vector: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4);
  return bytes.toString('base64');
}

export function embeddingsToWire(model: string, result: Embeddings, encoding: EncodingFormat) {
  return {
    object: 'list' as const,
    data: result.vectors.map((vector, index) => ({
      object: 'embedding' as const,
      index,
      embedding: encoding === 'base64' ? base64Vector(vector) : vector,
    })),
    model,
    usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.promptTokens },
  };
}
