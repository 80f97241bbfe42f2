// Managed prompts in the gateway config: named, versioned templates (instructions, demonstrations, an answer format,
// the strategy they were tuned for), with a weighted split of versions, an SLO watch and a feedback bandit.
import { z } from 'zod';
import { sloSchema } from './release-config.js';

/** Prompt names: letters, digits, `_`, `.` and `-`, so that `name@version` always parses. */
export const PROMPT_NAME = /^[\w.-]{1,64}$/;

export const promptDemoSchema = z.strictObject({
  input: z.string().min(1).describe("A question, sent as a user turn before the caller's own messages"),
  answer: z.string().min(1).describe('Its worked answer, sent as the assistant turn that follows it'),
});

export const promptVersionSchema = z.strictObject({
  instructions: z.string().default('').describe('System instructions, sent as the first system message'),
  demos: z.array(promptDemoSchema).max(64).default([]).describe('Few-shot demonstrations, in order'),
  format: z.string().optional().describe('How the answer must end, appended to the instructions (e.g. "End with \'The answer is X.\'")'),
  strategy: z
    .string()
    .regex(/^[a-z]+(@\d+)?$/, 'a strategy spec such as cot, plan or sc@5')
    .optional()
    .describe('The reasoning strategy the prompt was tuned for (direct, cot, plan, sc@K...), used when the caller asks for none'),
});

export const promptBanditSchema = z.strictObject({
  floor: z
    .number()
    .min(0)
    .max(0.5)
    .default(0.05)
    .describe('Share of traffic every version keeps whatever its feedback, so a version that looks worse can still recover'),
});

export const promptConfigSchema = z
  .strictObject({
    versions: z
      .record(z.string().regex(/^\d+$/, 'a version is a whole number'), promptVersionSchema)
      .refine((v) => Object.keys(v).length > 0, 'at least one version is required')
      .describe('The versions of this prompt, by number; a request for the bare name gets the highest, unless split says otherwise'),
    split: z
      .record(z.string().regex(/^\d+$/), z.number().min(0))
      .optional()
      .describe('Weights per version for requests that name no version (a canary: {"2": 90, "3": 10}); the lowest-numbered is stable'),
    slo: sloSchema
      .extend({
        minAccuracy: z.number().min(0).max(1).optional().describe('Absolute: mean feedback score a canary version must keep'),
        accuracyMargin: z.number().min(0).max(1).default(0.05).describe('Relative: the canary may score this much below stable'),
        accuracyWindows: z.number().int().min(1).default(2).describe('Consecutive breaching windows before an accuracy rollback'),
      })
      .optional()
      .describe('Roll a split back to its stable version when the canary breaches on errors or on feedback'),
    bandit: promptBanditSchema.optional().describe('Route requests that name no version to the versions that earn better feedback (Thompson sampling)'),
  })
  .superRefine((p, ctx) => {
    for (const v of Object.keys(p.split ?? {}))
      if (!p.versions[v]) ctx.addIssue({ code: 'custom', path: ['split', v], message: `no version ${v} under versions` });
    if (p.split && p.bandit) ctx.addIssue({ code: 'custom', path: ['bandit'], message: 'a prompt is split by weights or by a bandit, not both' });
  });

export const promptsConfigSchema = z
  .record(z.string().regex(PROMPT_NAME, 'a prompt name is 1 to 64 letters, digits, _, . or -'), promptConfigSchema)
  .default({})
  .describe('Managed prompts: requests use one by reasoning.prompt ("name" or "name@version") or by a model\'s prompt');

export type PromptVersionConfig = z.infer<typeof promptVersionSchema>;
export type PromptConfig = z.infer<typeof promptConfigSchema>;
export type PromptsConfig = z.infer<typeof promptsConfigSchema>;
export type PromptSlo = NonNullable<PromptConfig['slo']>;
