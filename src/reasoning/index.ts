// Door of the reasoning room: the reasoner wrapper, its strategies and the pure rules they are built from.
export { withReasoning } from './reasoner.js';
export { parseStrategyModel, parseStrategySpec, unknownStrategyPrefix, type StrategySpec } from './strategy-spec.js';
export { TokenBudget, BudgetSpent, MIN_COMPLETION_TOKENS } from './budget.js';
export { fitPassages } from './passage-fit.js';
export { CACHE_HITS_HEADER } from './strategy-calls.js';
export { classifyTask, TASK_TYPES, type TaskType } from './task-parser.js';
export { extractAnswer } from './answer-extraction.js';
export { tally, canStop, type Tally, type StopRule } from './voting.js';
export { chooseStrategy, type Choice } from './selector.js';
export { nextEscalation, canReach, type Escalation, type Attempt } from './feedback.js';
export { arithmeticScore } from './verifier.js';
export {
  selfConsistency,
  direct,
  chainOfThought,
  planAndSolve,
  bestOfN,
  reflectAndRevise,
  retrievalAugmented,
  type Retriever,
  type Sample,
  type StrategyEnv,
  type StrategyResult,
} from './strategies.js';
