// Settings of the embedded engine and the server: one zod schema is the source of defaults, types and docs.
import { availableParallelism } from 'node:os';
import { z } from 'zod';

export const QUANT_TYPES = [
  'f32',
  'f16',
  'bf16',
  'q8_0',
  'q6_k',
  'q5_k_m',
  'q5_k_s',
  'q5_0',
  'q5_1',
  'q4_k_m',
  'q4_k_s',
  'q4_0',
  'q4_1',
  'q3_k_m',
  'q3_k_s',
  'q3_k_l',
  'q2_k',
] as const;
export type QuantType = (typeof QUANT_TYPES)[number];

export const GPU_CHOICES = ['auto', 'off', 'cuda', 'vulkan', 'metal'] as const;
export type GpuChoice = (typeof GPU_CHOICES)[number];

/** KV-cache tensor types llama.cpp takes for keys and values (llama-server's --cache-type-k/-v). */
export const KV_CACHE_TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q5_1', 'q5_0', 'q4_1', 'q4_0', 'iq4_nl'] as const;
export type KvCacheType = (typeof KV_CACHE_TYPES)[number];

export const SPECULATIVE_MODES = ['off', 'lookup', 'draft'] as const;
export type SpeculativeMode = (typeof SPECULATIVE_MODES)[number];

/** Speculative decoding: tokens guessed ahead, then checked by the model in one batch; the output never changes. */
export const speculativeSettingsSchema = z
  .object({
    mode: z
      .enum(SPECULATIVE_MODES)
      .default('off')
      .describe('off; lookup: guess the next tokens from the prompt (no second model); draft: guess them with a small draft model'),
    draftModel: z.string().min(1).optional().describe('GGUF path or model name of the draft model (mode draft); it must share the vocabulary of the model'),
    draftTokens: z.number().int().min(1).max(64).default(8).describe('Tokens guessed ahead at most per step'),
  })
  .refine((s) => s.mode !== 'draft' || s.draftModel !== undefined, { message: 'speculative mode draft needs a draftModel', path: ['draftModel'] });
export type SpeculativeSettings = z.infer<typeof speculativeSettingsSchema>;

/** One core stays free for the event loop: llama.cpp spinning on every core starves the HTTP server. */
export const defaultThreads = (): number => Math.max(1, availableParallelism() - 1);

export const engineSettingsSchema = z.object({
  model: z.string().min(1).default('stories260K').describe('GGUF path, bare model name, or hf:owner/repo/file.gguf'),
  alias: z.string().min(1).optional().describe('Name clients use for the model (default: derived from the file name)'),
  quantize: z.enum(QUANT_TYPES).optional().describe('Quantize the model once into the cache, then serve the result'),
  parallel: z.number().int().min(1).max(256).default(4).describe('Sequences decoded together (continuous batching)'),
  contextSize: z.number().int().min(64).max(1_048_576).default(2048).describe('Tokens of context per sequence'),
  batchSize: z.number().int().min(1).optional().describe('Tokens evaluated per llama.cpp batch (default: llama.cpp chooses); the micro-batch is the same size'),
  threads: z.number().int().min(1).max(1024).default(defaultThreads).describe('CPU threads for llama.cpp'),
  gpu: z.enum(GPU_CHOICES).default('auto').describe('GPU backend; auto picks one if present'),
  gpuLayers: z
    .union([z.literal('auto'), z.literal('max'), z.number().int().min(0)])
    .default('auto')
    .describe('Model layers offloaded to the GPU: auto (what fits), max, or a count; more than 0 without a GPU is refused'),
  // Off by default: on this CPU backend llama.cpp's auto choice measured 10% fewer tokens/s at parallel 4
  // (bench:engine against the build before the setting existed); on a GPU, auto or on is usually the faster.
  flashAttention: z
    .enum(['auto', 'on', 'off'])
    .default('off')
    .describe('Flash attention: off (default), on, or auto (llama.cpp uses it where the model and backend support it; often faster on GPUs)'),
  kvCacheKeyType: z.enum(KV_CACHE_TYPES).default('f16').describe('Type of the KV-cache keys (quantized types save memory)'),
  kvCacheValueType: z.enum(KV_CACHE_TYPES).default('f16').describe('Type of the KV-cache values (quantized types save memory)'),
  mmap: z.boolean().default(true).describe('Map the model file into memory instead of reading it (where the platform supports it)'),
  mlock: z.boolean().default(false).describe('Lock the model in RAM so it is never swapped out; refused where the process may not lock memory'),
  speculative: speculativeSettingsSchema.default({ mode: 'off', draftTokens: 8 }).describe('Speculative decoding (prompt lookup or a draft model)'),
  maxQueue: z.number().int().min(0).default(64).describe('Requests that may wait for a free sequence before 429'),
  chatTemplate: z
    .enum(['auto', 'chatml', 'llama2', 'general'])
    .default('auto')
    .describe("Chat template; auto uses the model's own, or ChatML when it has none"),
  embeddingsOnly: z.boolean().default(false).describe('Serve /v1/embeddings only: load no chat context (no sequences, no KV cache for chat)'),
});

export type EngineSettings = z.infer<typeof engineSettingsSchema>;
export type EngineSettingsInput = z.input<typeof engineSettingsSchema>;

/** Serving several embedded models from one process: when each is loaded and unloaded, and how many fit at once. */
export const modelSetSettingsSchema = z.object({
  keepAlive: z
    .number()
    .min(-1)
    .refine((s) => s === -1 || s >= 0, 'keepAlive is seconds (0 or more), or -1 to keep models loaded')
    .default(300)
    .describe('Seconds a model stays loaded after its last request ends; -1 keeps it loaded. Models load again on their next request'),
  maxLoadedModels: z.number().int().min(1).default(3).describe('Models in memory at once; loading one more first unloads the least recently used idle one'),
  maxLoadedBytes: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("Bytes of model files in memory at once (each counts its GGUF's size); a model larger than this loads alone"),
});

export type ModelSetSettings = z.infer<typeof modelSetSettingsSchema>;
export type ModelSetSettingsInput = z.input<typeof modelSetSettingsSchema>;

export const serverSettingsSchema = z.object({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  bodyLimitBytes: z
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024)
    .describe('Largest request body accepted (413 above)'),
  drainSeconds: z.number().min(0).default(30).describe('How long shutdown waits for in-flight requests'),
  // Balancers take a moment to see /ready fail and stop sending; until then new requests are still served.
  drainDelaySeconds: z.number().min(0).default(0).describe('After SIGTERM, /ready answers 503 and requests are still served this long before draining'),
  // Slow and hostile clients: each one holds a socket and memory, so every phase of a request has a deadline.
  headersTimeoutSeconds: z.number().positive().default(10).describe("A request's headers must have arrived this long after its first byte (408 after)"),
  bodyTimeoutSeconds: z
    .number()
    .positive()
    .default(30)
    .describe("A request's body must have arrived this long after its headers (408 after, then the connection closes)"),
  keepAliveTimeoutSeconds: z.number().positive().default(5).describe('Idle keep-alive connections are closed after this long'),
  maxConnections: z.number().int().min(1).default(4096).describe('Open connections accepted at once; more are refused at once'),
  maxHeaderBytes: z
    .number()
    .int()
    .min(1024)
    .default(16 * 1024)
    .describe('Largest request header section accepted (431 above)'),
  streamStallSeconds: z.number().positive().default(60).describe('A stream whose client reads nothing for this long is cut, freeing its sequence'),
  streamQueueLimitBytes: z
    .number()
    .int()
    .min(1)
    .default(8 * 1024 * 1024)
    .describe('A stream with more than this waiting for a slow client is cut'),
});

export type ServerSettings = z.infer<typeof serverSettingsSchema>;
