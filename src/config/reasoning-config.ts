// The reasoning layer's settings: per-model defaults, the confidence threshold, and the cascade of larger models.
import { z } from 'zod';
import { STRATEGIES, type ReasoningOptions } from '../core/index.js';

export const reasoningOptionsSchema = z.strictObject({
  strategy: z.enum(STRATEGIES).optional(),
  samples: z.number().int().min(1).max(64).optional(),
  max_samples: z.number().int().min(1).max(64).optional(),
  budget_tokens: z.number().int().positive().optional(),
  confidence: z.number().min(0).max(1).optional(),
  include_samples: z.boolean().optional().describe("Return every sample's full text in the response's reasoning.sample_texts"),
});

/** The wire's snake_case reasoning options (request field or config defaults) as the reasoner takes them. */
export function reasoningOptionsFrom(r: z.infer<typeof reasoningOptionsSchema> | null | undefined): ReasoningOptions | undefined {
  if (!r) return undefined;
  return {
    strategy: r.strategy,
    samples: r.samples,
    maxSamples: r.max_samples,
    budgetTokens: r.budget_tokens,
    confidence: r.confidence,
    includeSamples: r.include_samples,
  };
}

export const reasoningConfigSchema = z.strictObject({
  confidence: z.number().min(0).max(1).default(0.6).describe('Below this an answer is escalated'),
  maxEscalations: z.number().int().min(0).max(5).default(2),
  budgetTokens: z
    .number()
    .int()
    .positive()
    .default(4096)
    .describe('Tokens (prompt and completion, across all calls) a reasoned request may spend when it names no budget_tokens'),
  defaults: z.record(z.string(), reasoningOptionsSchema).default({}).describe('Reasoning per model when the caller asks for none'),
  cascade: z.record(z.string(), z.string()).default({}).describe('A larger model to escalate to, per model: the edge/cloud split'),
  retrieval: z
    .strictObject({
      index: z.string().describe('Index file made by `autoglm index add`'),
      topK: z.number().int().min(1).max(20).default(4),
      embeddings: z
        .strictObject({
          baseUrl: z.url().optional().describe('OpenAI-compatible base URL with /v1; without it, a model this server embeds with, called in-process'),
          model: z.string().min(1).describe("The embedding model: one served here (no baseUrl), or the upstream's"),
          apiKeyEnv: z.string().optional().describe('Environment variable holding the API key for baseUrl'),
        })
        .refine((e) => e.baseUrl !== undefined || e.apiKeyEnv === undefined, {
          message: 'apiKeyEnv is the key for baseUrl; a model served here needs none',
          path: ['apiKeyEnv'],
        })
        .optional()
        .describe('Re-rank passages by embeddings (the index must have been built with the same model: refused at start otherwise)'),
    })
    .optional()
    .describe('Documents for the rag strategy'),
});
export type ReasoningConfig = z.infer<typeof reasoningConfigSchema>;
