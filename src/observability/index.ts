// Door of the observability room: metrics and the metered ChatModel wrapper.
export { ServerMetrics, type EngineGauges } from './metrics.js';
export { boundOnce } from './tallied-metrics.js';
export { withMetrics } from './metered-model.js';
export { reportsFirstToken } from './first-token.js';
export { GatewayMetrics, type ReplicaGaugeSource, type BreakerStateName } from './gateway-metrics.js';
export * from './alerts/index.js';
export { LiveStats, type LiveSnapshot } from './live-stats.js';
export { withEmbeddingMetrics } from './metered-embeddings.js';
