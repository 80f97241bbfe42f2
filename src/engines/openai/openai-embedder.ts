// Embeddings passed through to an OpenAI-compatible upstream's /v1/embeddings, over the undici Pool its chat engine
// uses (one set of keep-alive connections per upstream). The upstream's answer is validated, never trusted blindly.
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import {
  AutoglmError,
  estimateTokens,
  modelNotFound,
  type CallContext,
  type EmbeddingModel,
  type EmbeddingModelInfo,
  type EmbeddingRequest,
  type Embeddings,
} from '../../core/index.js';
import { callUpstream, upstreamHeaders, UpstreamCallError, type UpstreamAnswer } from './upstream-call.js';
import { errorFromConnection, errorFromUpstreamStatus } from './upstream-errors.js';

/** Where and how the chat engine reaches its upstream, shared with this one. */
export interface UpstreamEndpoint {
  dispatcher: Dispatcher;
  /** The base URL's path without a trailing slash (`/v1`). */
  basePath: string;
  /** Content type and credentials, as undici's flat name/value list. */
  headers: readonly string[];
  replica: string;
  /** The name clients use, and the one the upstream knows. */
  model: string;
  upstreamModel: string;
  timeoutMs: number;
}

const upstreamEmbeddings = z.object({
  data: z.array(z.object({ index: z.number().int().min(0), embedding: z.union([z.array(z.number()), z.string()]) })),
  usage: z.object({ prompt_tokens: z.number().int().min(0) }).nullish(),
});

/** OpenAI's base64 form: float32 values, little-endian. */
function decodeBase64(text: string): number[] {
  const bytes = Buffer.from(text, 'base64');
  const vector = new Array<number>(bytes.length >> 2);
  for (let i = 0; i < vector.length; i++) vector[i] = bytes.readFloatLE(i * 4);
  return vector;
}

export class OpenAIEmbedder implements EmbeddingModel {
  private readonly listed: EmbeddingModelInfo[];

  constructor(private readonly upstream: UpstreamEndpoint) {
    // The vectors' length is the upstream's to know: `dimensions` is passed on for it to honour or refuse.
    this.listed = [{ id: upstream.model, ownedBy: upstream.replica, created: 0 }];
  }

  models(): EmbeddingModelInfo[] {
    return this.listed;
  }

  async embed(req: EmbeddingRequest, ctx: CallContext): Promise<Embeddings> {
    const { dispatcher, basePath, headers, replica, model, upstreamModel, timeoutMs } = this.upstream;
    if (req.model !== model) throw modelNotFound(req.model, [model]);
    const body = JSON.stringify({
      model: upstreamModel,
      input: req.inputs,
      // Floats, not base64: every OpenAI-compatible server speaks them (not all decode a base64 request).
      encoding_format: 'float',
      ...(req.dimensions !== undefined && { dimensions: req.dimensions }),
      ...(req.user !== undefined && { user: req.user }),
    });
    let res: UpstreamAnswer;
    try {
      res = await callUpstream(
        dispatcher,
        {
          method: 'POST',
          path: `${basePath}/embeddings`,
          headers: upstreamHeaders(headers, ctx),
          body,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        },
        ctx.signal,
      );
    } catch (err) {
      ctx.signal.throwIfAborted();
      const failure = err instanceof UpstreamCallError ? err : new UpstreamCallError(err, false);
      throw errorFromConnection(failure.cause, replica, failure.answering ? 'stream' : 'connect');
    }
    if (res.statusCode >= 400) throw errorFromUpstreamStatus(res.statusCode, res.text, res.headers['retry-after'], replica);
    return this.parse(res.text, req);
  }

  private parse(text: string, req: EmbeddingRequest): Embeddings {
    const expected = req.inputs.length;
    let payload: z.infer<typeof upstreamEmbeddings>;
    try {
      payload = upstreamEmbeddings.parse(JSON.parse(text));
    } catch {
      throw this.badAnswer('an answer that is not an embeddings list');
    }
    const vectors = new Array<number[]>(expected);
    for (const item of payload.data) {
      if (item.index >= expected) throw this.badAnswer(`an embedding for input ${item.index} of ${expected}`);
      vectors[item.index] = typeof item.embedding === 'string' ? decodeBase64(item.embedding) : item.embedding;
    }
    if (payload.data.length !== expected || vectors.some((v) => v === undefined))
      throw this.badAnswer(`${payload.data.length} embeddings for ${expected} inputs`);
    // An upstream that reports no usage is estimated, not counted as free.
    const estimate = () => req.inputs.reduce((n, input) => n + (typeof input === 'string' ? estimateTokens(input) : input.length), 0);
    return { vectors, usage: { promptTokens: payload.usage?.prompt_tokens ?? estimate() } };
  }

  /** A 502: the upstream answered, but not with what was asked; another replica may do better. */
  private badAnswer(what: string): AutoglmError {
    return new AutoglmError(502, 'server_error', 'upstream_bad_response', `The upstream '${this.upstream.replica}' sent ${what}.`);
  }
}
