// Runs a dataset through a model with each strategy: accuracy with a 95% interval, calls, samples, tokens, latency.
import { complete, type ChatModel } from '../core/index.js';
import type { DatasetItem } from '../datasets/index.js';
import { extractAnswer } from '../reasoning/index.js';
import type { StrategySpec } from './strategy-spec.js';

export interface ItemResult {
  id: string;
  gold: string;
  answer: string | null;
  correct: boolean;
  calls: number;
  samples: number;
  tokens: number;
  latencyMs: number;
  error?: string;
}

export interface StrategyReport {
  strategy: string;
  items: number;
  accuracy: number;
  /** Wilson 95% interval. */
  ci95: [number, number];
  callsPerItem: number;
  samplesPerItem: number;
  tokensPerItem: number;
  latencyMsPerItem: number;
  errors: number;
  results: ItemResult[];
}

export function wilson(correct: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 0];
  const p = correct / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Calls that failed before any succeeded, after which a run stops: a wrong model or a dead upstream fails them all. */
export const FAIL_FAST_AFTER = 3;

/** A strategy's first calls all failed: the run stopped, with the first error, rather than failing every item. */
export class EvalFailedError extends Error {
  override name = 'EvalFailedError';
}

export async function evaluate(
  model: ChatModel,
  modelName: string,
  items: readonly DatasetItem[],
  spec: StrategySpec,
  options: { concurrency: number; seed: number; maxTokens?: number; onItem?: () => void },
): Promise<StrategyReport> {
  const results: ItemResult[] = new Array(items.length);
  let next = 0;
  let succeeded = 0;
  let failed = 0;
  let firstError: string | undefined;
  let stopped = false;
  const worker = async () => {
    for (let i = next++; i < items.length && !stopped; i = next++) {
      const item = items[i]!;
      const report: { headers: Record<string, string>; reasoning?: Record<string, unknown> } = { headers: {} };
      const started = performance.now();
      try {
        const result = await complete(
          model,
          {
            model: `${spec.strategy}:${modelName}`,
            input: { type: 'messages', messages: [{ role: 'user', content: item.question }] },
            stop: [],
            responseFormat: { type: 'text' },
            n: 1,
            stream: false,
            maxTokens: options.maxTokens,
            // The same seed per item for every strategy: sample k of each strategy is the same draw.
            seed: options.seed + i * 1000,
            reasoning: spec.options,
          },
          { signal: new AbortController().signal, requestId: `eval-${i}`, report },
        );
        const answer = (report.reasoning?.answer as string | null | undefined) ?? extractAnswer(result.choices[0]?.text ?? '', item.task) ?? null;
        results[i] = {
          id: item.id,
          gold: item.answer,
          answer,
          correct: answer === item.answer,
          calls: Number(report.reasoning?.calls ?? 1),
          samples: Number(report.reasoning?.samples ?? 1),
          tokens: result.usage.promptTokens + result.usage.completionTokens,
          latencyMs: performance.now() - started,
        };
        succeeded++;
      } catch (err) {
        const error = (err as Error).message;
        results[i] = {
          id: item.id,
          gold: item.answer,
          answer: null,
          correct: false,
          calls: 0,
          samples: 0,
          tokens: 0,
          latencyMs: performance.now() - started,
          error,
        };
        failed++;
        firstError ??= error;
        if (succeeded === 0 && failed >= FAIL_FAST_AFTER) stopped = true;
      }
      options.onItem?.();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  if (stopped || (succeeded === 0 && failed > 0))
    throw new EvalFailedError(`${spec.label}: ${failed === items.length ? 'every call' : `the first ${failed} calls`} failed: ${firstError}`);
  const n = results.length;
  const sum = (f: (r: ItemResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const correct = sum((r) => (r.correct ? 1 : 0));
  return {
    strategy: spec.label,
    items: n,
    accuracy: n ? correct / n : 0,
    ci95: wilson(correct, n),
    callsPerItem: sum((r) => r.calls) / n,
    samplesPerItem: sum((r) => r.samples) / n,
    tokensPerItem: sum((r) => r.tokens) / n,
    latencyMsPerItem: sum((r) => r.latencyMs) / n,
    errors: results.filter((r) => r.error).length,
    results,
  };
}
