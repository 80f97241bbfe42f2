// The built-in model catalog: short Ollama-style names for well-known public GGUF files on the Hugging Face hub.
import type { CatalogEntryInput } from './model-catalog.js';

/**
 * `name:tag` → source. A bare name means the entry marked `default` (as Ollama's `latest`). Sizes and sha256 sums are
 * given only where they are known exactly; otherwise the hub's own LFS sha256 (X-Linked-Etag) verifies the download.
 */
export const BUILT_IN_CATALOG: Record<string, CatalogEntryInput> = {
  // The tiny TinyStories llama that tests and the default `npm start` use (karpathy/tinyllamas, converted by llama.cpp).
  stories260K: {
    source: 'hf:ggml-org/models/tinyllamas/stories260K.gguf',
    quant: 'F32',
    size: 1_185_376,
    sha256: '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d',
    role: 'chat',
    description: 'TinyStories llama, 260K parameters (no chat template)',
  },
  'qwen2.5:0.5b': { source: 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf', quant: 'Q4_K_M', role: 'chat' },
  'qwen2.5:1.5b': { source: 'hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF/qwen2.5-1.5b-instruct-q4_k_m.gguf', quant: 'Q4_K_M', role: 'chat' },
  'qwen2.5:3b': { source: 'hf:Qwen/Qwen2.5-3B-Instruct-GGUF/qwen2.5-3b-instruct-q4_k_m.gguf', quant: 'Q4_K_M', role: 'chat' },
  // Qwen's own 7B GGUF repository splits its larger quantizations into parts; bartowski's has one file.
  'qwen2.5:7b': { source: 'hf:bartowski/Qwen2.5-7B-Instruct-GGUF/Qwen2.5-7B-Instruct-Q4_K_M.gguf', quant: 'Q4_K_M', role: 'chat', default: true },
  'qwen3:0.6b': { source: 'hf:Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf', quant: 'Q8_0', role: 'chat' },
  'qwen3:1.7b': { source: 'hf:Qwen/Qwen3-1.7B-GGUF/Qwen3-1.7B-Q8_0.gguf', quant: 'Q8_0', role: 'chat' },
  'qwen3:4b': { source: 'hf:Qwen/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf', quant: 'Q4_K_M', role: 'chat' },
  'qwen3:8b': { source: 'hf:Qwen/Qwen3-8B-GGUF/Qwen3-8B-Q4_K_M.gguf', quant: 'Q4_K_M', role: 'chat', default: true },
  'llama3.2:1b': { source: 'hf:bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf', quant: 'Q4_K_M', role: 'chat' },
  'llama3.2:3b': { source: 'hf:bartowski/Llama-3.2-3B-Instruct-GGUF/Llama-3.2-3B-Instruct-Q4_K_M.gguf', quant: 'Q4_K_M', role: 'chat', default: true },
  'llama3.1:8b': { source: 'hf:bartowski/Meta-Llama-3.1-8B-Instruct-GGUF/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf', quant: 'Q4_K_M', role: 'chat' },
  'glm4:9b': { source: 'hf:bartowski/THUDM_GLM-4-9B-0414-GGUF/THUDM_GLM-4-9B-0414-Q4_K_M.gguf', quant: 'Q4_K_M', role: 'chat' },
  'nomic-embed-text:v1.5': { source: 'hf:nomic-ai/nomic-embed-text-v1.5-GGUF/nomic-embed-text-v1.5.Q8_0.gguf', quant: 'Q8_0', role: 'embedding' },
  'bge-small-en:v1.5': { source: 'hf:CompendiumLabs/bge-small-en-v1.5-gguf/bge-small-en-v1.5-q8_0.gguf', quant: 'Q8_0', role: 'embedding' },
};
