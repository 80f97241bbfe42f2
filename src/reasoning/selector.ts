// The selector (`auto`): which strategy a request deserves, from its task type and the token budget.
import type { StrategyName } from '../core/index.js';
import type { TaskType } from './task-parser.js';

export interface Choice {
  strategy: Exclude<StrategyName, 'auto'>;
  maxSamples?: number;
}

/**
 * Reasoning tasks get adaptive self-consistency when the budget pays for several samples, chain-of-thought when it
 * pays for about one; questions go to the documents when an index is loaded; everything else is answered directly
 * (sampling a summary or a chat reply buys nothing).
 */
export function chooseStrategy(task: TaskType, budgetTokens: number | undefined, tokensPerCall: number, hasDocuments = false): Choice {
  const affordable = budgetTokens === undefined ? Infinity : Math.floor(budgetTokens / Math.max(1, tokensPerCall));
  switch (task) {
    case 'math':
    case 'logic':
      if (affordable >= 3) return { strategy: 'asc', maxSamples: Math.min(8, affordable) };
      return { strategy: affordable >= 1 ? 'cot' : 'direct' };
    case 'code':
      return { strategy: affordable >= 2 ? 'reflect' : 'direct' };
    case 'open_qa':
      // A question about facts is answered from the documents when there are any.
      return { strategy: hasDocuments ? 'rag' : 'direct' };
    default:
      return { strategy: 'direct' };
  }
}
