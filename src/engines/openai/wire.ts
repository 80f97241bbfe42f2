// The upstream side of the OpenAI wire format: request bodies out, validated responses and stream chunks in.
import { z } from 'zod';
import type { ChatRequest, FinishReason, Usage } from '../../core/index.js';

export function upstreamBody(req: ChatRequest, model: string, stream: boolean, extensions: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model,
    max_tokens: req.maxTokens,
    temperature: req.temperature,
    top_p: req.topP,
    seed: req.seed,
    stop: req.stop.length ? req.stop : undefined,
    frequency_penalty: req.frequencyPenalty,
    presence_penalty: req.presencePenalty,
    stream,
    stream_options: stream ? { include_usage: true } : undefined,
  };
  if (req.input.type === 'messages') body.messages = req.input.messages;
  else body.prompt = req.input.text;
  if (req.responseFormat.type === 'json_object') body.response_format = { type: 'json_object' };
  if (req.responseFormat.type === 'json_schema') {
    body.response_format = { type: 'json_schema', json_schema: { name: req.responseFormat.name ?? 'response', schema: req.responseFormat.schema } };
  }
  if (extensions) Object.assign(body, { top_k: req.topK, min_p: req.minP, ignore_eos: req.ignoreEos });
  return body;
}

/** Upstream finish reasons beyond stop and length (tool_calls, content_filter, eos) all mean the answer ended. */
export const finishReasonFromWire = (reason: string | null | undefined): FinishReason | undefined =>
  reason == null ? undefined : reason === 'length' ? 'length' : 'stop';

const usageSchema = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().int().nonnegative().nullish() }).nullish(),
}).nullish();

const choiceSchema = z.object({
  index: z.number().int().nonnegative().default(0),
  delta: z.object({ content: z.string().nullish() }).nullish(),
  message: z.object({ content: z.string().nullish() }).nullish(),
  text: z.string().nullish(),
  finish_reason: z.string().nullish(),
});

/** Both whole responses and stream chunks, chat and text completions: one lenient schema for all four. */
export const upstreamPayloadSchema = z.object({
  choices: z.array(choiceSchema).default([]),
  usage: usageSchema,
  error: z.object({ message: z.string() }).passthrough().nullish(),
});
export type UpstreamPayload = z.infer<typeof upstreamPayloadSchema>;

export function usageFromWire(u: NonNullable<UpstreamPayload['usage']>): Usage {
  return { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, cachedPromptTokens: u.prompt_tokens_details?.cached_tokens ?? 0 };
}

export const choiceText = (c: z.infer<typeof choiceSchema>): string => c.delta?.content ?? c.message?.content ?? c.text ?? '';
