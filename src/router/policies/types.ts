// The contract of a balancing policy: a choice among replicas that may serve a request now.

/** What a policy may know of a replica: a snapshot, never the live object. */
export interface ReplicaView {
  id: string;
  weight: number;
  /** Requests sent to it and not yet finished. */
  outstanding: number;
  /** Smoothed time to first token, when it has answered before. */
  ewmaTtftMs?: number;
}

export interface RoutingRequest {
  /** The prompt as text: the key prefix-aware routing matches on. */
  readonly prompt: string;
}

export interface BalancingPolicy {
  readonly name: PolicyName;
  /** Index into `replicas` (never empty) of the one to use. */
  pick(replicas: readonly ReplicaView[], req: RoutingRequest): number;
  /** Told where each request went, for policies that learn from routing history. */
  routed?(replica: ReplicaView, req: RoutingRequest): void;
}

export { POLICIES as POLICY_NAMES } from '../../config/index.js';
export type PolicyName = typeof import('../../config/index.js').POLICIES[number];
