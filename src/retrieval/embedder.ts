// Embeddings from any OpenAI-compatible /v1/embeddings endpoint (vLLM, llama.cpp server, Ollama, OpenAI...).
import { request } from 'undici';

export interface Embedder {
  embed(texts: readonly string[]): Promise<number[][]>;
}

export class RemoteEmbedder implements Embedder {
  constructor(private readonly options: { baseUrl: string; model: string; apiKey?: string }) {}

  async embed(texts: readonly string[]): Promise<number[][]> {
    const res = await request(`${this.options.baseUrl.replace(/\/+$/, '')}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}) },
      body: JSON.stringify({ model: this.options.model, input: texts }),
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
    const body = (await res.body.json()) as { data?: { index: number; embedding: number[] }[]; error?: { message: string } };
    if (res.statusCode >= 400 || !body.data) throw new Error(`embeddings endpoint answered ${res.statusCode}: ${body.error?.message ?? 'no data'}`);
    return [...body.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
  }
}
