// Settings of the simulator engine: latency model, capacity, prefix cache and fault injection, with presets.
import { z } from 'zod';

export const faultSettingsSchema = z.object({
  errorRate: z.number().min(0).max(1).default(0).describe('Share of requests answered with a 5xx before any token'),
  errorStatus: z.number().int().min(500).max(599).default(500),
  spikeRate: z.number().min(0).max(1).default(0).describe('Share of requests whose first token is delayed by spikeMs'),
  spikeMs: z.number().min(0).default(1000),
  hangRate: z.number().min(0).max(1).default(0).describe('Share of requests that never answer'),
  dropRate: z.number().min(0).max(1).default(0).describe('Share of streams cut off halfway, connection dropped'),
  refuseRate: z.number().min(0).max(1).default(0).describe('Share of connections closed at once (standalone server only)'),
});
export type FaultSettings = z.infer<typeof faultSettingsSchema>;

interface LatencyProfile {
  overheadMs: number;
  prefillMsPerToken: number;
  itlMs: number;
  maxRunning: number;
  slowdownPerRunning: number;
}

/** Latency profiles of real deployments, rounded from public vLLM benchmark reports. */
export const SIM_PRESETS: Record<'llama-8b-h100' | 'llama-70b-4xh100' | 'glm-4-9b-a100' | 'cpu-small' | 'instant', LatencyProfile> = {
  'llama-8b-h100': { overheadMs: 12, prefillMsPerToken: 0.06, itlMs: 7, maxRunning: 256, slowdownPerRunning: 0.003 },
  'llama-70b-4xh100': { overheadMs: 25, prefillMsPerToken: 0.25, itlMs: 22, maxRunning: 128, slowdownPerRunning: 0.004 },
  'glm-4-9b-a100': { overheadMs: 15, prefillMsPerToken: 0.12, itlMs: 12, maxRunning: 128, slowdownPerRunning: 0.004 },
  'cpu-small': { overheadMs: 5, prefillMsPerToken: 1.5, itlMs: 40, maxRunning: 4, slowdownPerRunning: 0.1 },
  instant: { overheadMs: 0, prefillMsPerToken: 0, itlMs: 0, maxRunning: 100_000, slowdownPerRunning: 0 },
};
export type SimPreset = keyof typeof SIM_PRESETS;

export const simSettingsSchema = z.object({
  model: z.string().min(1).default('sim').describe('Model name the simulator answers to'),
  preset: z.enum(Object.keys(SIM_PRESETS) as [SimPreset, ...SimPreset[]]).default('llama-8b-h100'),
  seed: z.number().int().default(1),
  overheadMs: z.number().min(0).optional().describe('Fixed time before prefill'),
  prefillMsPerToken: z.number().min(0).optional().describe('Prefill time per uncached prompt token'),
  itlMs: z.number().min(0).optional().describe('Mean inter-token latency'),
  itlJitter: z.number().min(0).max(1).default(0.1).describe('Inter-token latency varies by up to this fraction'),
  maxRunning: z.number().int().min(1).optional().describe('Sequences decoded at once; more wait in a queue'),
  maxQueue: z.number().int().min(0).default(10_000),
  slowdownPerRunning: z.number().min(0).optional().describe('Latency grows by this fraction per running sequence'),
  outputTokens: z.number().int().min(1).default(128).describe('Tokens generated when max_tokens allows'),
  blockSize: z.number().int().min(1).default(16).describe('Tokens per KV-cache block'),
  cacheBlocks: z.number().int().min(0).default(4096).describe('KV-cache blocks kept (LRU)'),
  faults: faultSettingsSchema.default(() => faultSettingsSchema.parse({})),
  solver: z
    .strictObject({
      dataset: z.string().min(1).describe('gsm8k, svamp or bbh/<task>: questions the simulator knows the answers to'),
      p: z.number().min(0).max(1).describe('Chance that an answer is the gold one; otherwise a plausible wrong one'),
      strategies: z.record(z.string(), z.number().min(0).max(1)).optional().describe('p per strategy prompt (cot, plan)'),
      datasetsDir: z.string().optional().describe('Folder of the datasets (default: $AUTOGLM_DATASETS_DIR or ../shared/datasets)'),
      promptSensitive: z.boolean().optional().describe("p is a bare question's accuracy; instructions, demonstrations and hidden key words move it"),
    })
    .optional()
    .describe('Solver mode: answer dataset questions right with probability p'),
});
export type SimSettingsInput = z.input<typeof simSettingsSchema>;

export type ResolvedSimSettings = z.infer<typeof simSettingsSchema> & LatencyProfile;

export function resolveSimSettings(input: SimSettingsInput = {}): ResolvedSimSettings {
  const parsed = simSettingsSchema.parse(input);
  const preset = SIM_PRESETS[parsed.preset];
  return {
    ...parsed,
    overheadMs: parsed.overheadMs ?? preset.overheadMs,
    prefillMsPerToken: parsed.prefillMsPerToken ?? preset.prefillMsPerToken,
    itlMs: parsed.itlMs ?? preset.itlMs,
    maxRunning: parsed.maxRunning ?? preset.maxRunning,
    slowdownPerRunning: parsed.slowdownPerRunning ?? preset.slowdownPerRunning,
  };
}
