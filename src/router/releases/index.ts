// Door of the releases room: versions, canary rollouts and their SLO rules.
export { ReleaseManager, type Outcome, type Route } from './release-manager.js';
export { ReleaseRouter, type OutcomeSink } from './release-router.js';
export { withReleaseEmbeddings } from './release-embeddings.js';
export { CanaryRollout, type RolloutSnapshot, type RolloutState, type RolloutStatus, type RolloutStore, type RolloutListener } from './canary-rollout.js';
export { evaluateWindow, decide, type Breach, type WindowVerdict, type RolloutDecision } from './slo-rules.js';
export { inCanary } from './version-split.js';
export { WindowStatsCollector, type WindowStats } from './window-stats.js';
