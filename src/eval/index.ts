// Door of the eval room: datasets through strategies, reports, charts, and the task parser's own accuracy.
export { evaluate, wilson, EvalFailedError, FAIL_FAST_AFTER, type StrategyReport, type ItemResult } from './run-eval.js';
export { parseStrategySpec, predictedVoteAccuracy, type StrategySpec } from './strategy-spec.js';
export { accuracyChart } from './chart.js';
export { evaluateClassifier, type ClassRow } from './classifier-eval.js';
