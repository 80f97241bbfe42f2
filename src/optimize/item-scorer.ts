// Runs a candidate prompt over dataset items through the reasoning layer, as a served request would run: each item's
// answer is read, checked against the gold one, and remembered, so a later, larger rung (or a resumed run) pays only
// for the items it has not seen.
import { complete, type CallReport, type ChatModel, type ChatRequest } from '../core/index.js';
import type { DatasetItem } from '../datasets/index.js';
import { renderPrompt, type PromptDemo } from '../prompts/index.js';
import { extractAnswer } from '../reasoning/index.js';
import { candidateKey, candidateTemplate, type Candidate } from './candidate.js';

export interface ItemOutcome {
  correct: boolean;
  calls: number;
  tokens: number;
}

export interface ScoreOptions {
  model: ChatModel;
  modelName: string;
  seed: number;
  concurrency: number;
  maxTokens?: number;
  demos: readonly PromptDemo[];
  /** Outcomes already known, by candidate key and split:index; filled as items are run. */
  memo: Record<string, Record<string, ItemOutcome>>;
  /** After each item that was run (not remembered): for progress and for saving the state. */
  onItem?: (outcome: ItemOutcome) => void;
  /** Calls that failed, and the latest one's message. */
  failures?: { count: number; last?: string };
}

export interface Score {
  items: number;
  accuracy: number;
  correct: number;
  calls: number;
  /** Calls made now: the items no earlier rung or run had seen. */
  newCalls: number;
  tokens: number;
}

/** One item's request: the question as a user sends it, the candidate's template rendered around it. */
export function itemRequest(c: Candidate, item: DatasetItem, index: number, o: Pick<ScoreOptions, 'modelName' | 'seed' | 'maxTokens' | 'demos'>): ChatRequest {
  const req: ChatRequest = {
    model: o.modelName,
    input: { type: 'messages', messages: [{ role: 'user', content: item.question }] },
    stop: [],
    responseFormat: { type: 'text' },
    n: 1,
    stream: false,
    maxTokens: o.maxTokens,
    // The same seed per item for every candidate: candidates are compared on the same draws.
    seed: o.seed + index * 1000,
  };
  return renderPrompt(candidateTemplate(c, o.demos), req);
}

export async function scoreItems(c: Candidate, items: readonly DatasetItem[], split: string, o: ScoreOptions): Promise<Score> {
  const memo = (o.memo[candidateKey(c)] ??= {});
  const todo = items.map((item, i) => ({ item, i })).filter(({ i }) => memo[`${split}:${i}`] === undefined);
  let newCalls = 0;
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < todo.length; k = next++) {
      const { item, i } = todo[k]!;
      const report: CallReport = { headers: {} };
      let outcome: ItemOutcome;
      try {
        const result = await complete(o.model, itemRequest(c, item, i, o), {
          signal: new AbortController().signal,
          requestId: `optimize-${split}-${i}`,
          report,
        });
        const answer = (report.reasoning?.answer as string | null | undefined) ?? extractAnswer(result.choices[0]?.text ?? '', item.task);
        outcome = {
          correct: answer === item.answer,
          calls: Number(report.reasoning?.calls ?? 1),
          tokens: result.usage.promptTokens + result.usage.completionTokens,
        };
      } catch (err) {
        // A failed call is a wrong answer that cost a call; a model that fails every call is stopped by the caller.
        outcome = { correct: false, calls: 1, tokens: 0 };
        if (o.failures) {
          o.failures.count++;
          o.failures.last = (err as Error).message;
        }
      }
      memo[`${split}:${i}`] = outcome;
      newCalls += outcome.calls;
      o.onItem?.(outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  const outcomes = items.map((_, i) => memo[`${split}:${i}`]!);
  const correct = outcomes.filter((x) => x.correct).length;
  return {
    items: items.length,
    accuracy: items.length ? correct / items.length : 0,
    correct,
    calls: outcomes.reduce((s, x) => s + x.calls, 0),
    newCalls,
    tokens: outcomes.reduce((s, x) => s + x.tokens, 0),
  };
}
