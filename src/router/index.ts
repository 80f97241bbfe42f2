// Door of the router room: replica pools, balancing policies, breakers, retries and the gateway builder.
export { buildGateway, type Gateway, type BuildOptions } from './build-gateway.js';
export { ReplicaPool, type ReplicaPoolOptions } from './replica-pool.js';
export { Replica, type ReplicaEngine } from './replica.js';
export { ModelRouter } from './router.js';
export { CircuitBreaker, type BreakerState, type BreakerOptions } from './circuit-breaker.js';
export { HealthChecker } from './health-checker.js';
export { DnsDiscovery, dnsLookup, targetChanges, targetId, type DnsTarget } from './dns-discovery.js';
export { retryDelay, countsAgainstReplica, DEFAULT_RETRY, type RetryOptions } from './retry-policy.js';
export * from './policies/index.js';
export { LiveGateway, type Generation } from './live-gateway.js';
export * from './releases/index.js';
export { EmbeddingPool, type EmbeddingPoolOptions } from './embedding-pool.js';
export { liveEmbeddings, type PoolSource, type EmbeddingRouterOptions } from './embedding-router.js';
