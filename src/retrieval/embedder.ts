// What passages and questions are embedded with: any OpenAI-compatible /v1/embeddings endpoint (vLLM, llama.cpp
// server, Ollama, OpenAI, another autoglm...), or an EmbeddingModel served by this same process, called in-process.
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { AutoglmError, type EmbeddingModel } from '../core/index.js';

/** The call an embedding is made for: a question's embedding is cancelled with its request. */
export interface EmbedCall {
  signal?: AbortSignal;
  requestId?: string;
}

export interface Embedder {
  /** The model the vectors come from, as the index records it: query and passage vectors must share one. */
  readonly model: string;
  embed(texts: readonly string[], call?: EmbedCall): Promise<number[][]>;
}

export class RemoteEmbedder implements Embedder {
  constructor(private readonly options: { baseUrl: string; model: string; apiKey?: string }) {}

  get model(): string {
    return this.options.model;
  }

  async embed(texts: readonly string[], call: EmbedCall = {}): Promise<number[][]> {
    const res = await request(`${this.options.baseUrl.replace(/\/+$/, '')}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}) },
      body: JSON.stringify({ model: this.options.model, input: texts }),
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
      signal: call.signal,
    });
    const body = (await res.body.json()) as { data?: { index: number; embedding: number[] }[]; error?: { message: string } };
    if (res.statusCode >= 400 || !body.data) throw new Error(`embeddings endpoint answered ${res.statusCode}: ${body.error?.message ?? 'no data'}`);
    return [...body.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
  }
}

/**
 * A model this process embeds with, called without an HTTP hop. `served` is read at each call: a gateway's models
 * change with its reloads. The call gets a report of its own, so the replica or version that embedded is not taken
 * for the one that answered the chat the question came from.
 */
export class ServedEmbedder implements Embedder {
  constructor(
    readonly model: string,
    private readonly served: () => EmbeddingModel | undefined,
  ) {}

  /** The models the process embeds with now. */
  available(): string[] {
    return (this.served()?.models() ?? []).map((m) => m.id);
  }

  async embed(texts: readonly string[], call: EmbedCall = {}): Promise<number[][]> {
    const embeddings = this.served();
    if (!embeddings)
      throw new AutoglmError(503, 'server_error', 'model_loading', `The embedding model '${this.model}' is not loaded yet. Retry shortly.`, null, 1);
    const ctx = { signal: call.signal ?? new AbortController().signal, requestId: call.requestId ?? randomUUID(), report: { headers: {} } };
    return (await embeddings.embed({ model: this.model, inputs: texts }, ctx)).vectors;
  }
}
