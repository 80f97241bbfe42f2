// Releases and alerts in the gateway config: versions of a model, canary ramps, SLO rules and webhook alerts.
import { z } from 'zod';

/** Defaults from common practice: 5xx over 5% for two windows, p99 over 2 s for three windows in a row. */
export const sloSchema = z.strictObject({
  windowSeconds: z.number().positive().default(60).describe('Length of one evaluation window'),
  minRequests: z.number().int().min(1).default(20).describe('A window with fewer canary requests says nothing'),
  maxErrorRate: z.number().min(0).max(1).default(0.05).describe('Absolute: share of failed requests (5xx or a broken stream)'),
  errorRateMargin: z.number().min(0).max(1).default(0.03).describe('Relative: canary error rate may exceed stable by this much'),
  errorWindows: z.number().int().min(1).default(2).describe('Consecutive breaching windows before an error-rate rollback'),
  maxP99LatencyMs: z.number().positive().default(2000),
  maxP99TtftMs: z.number().positive().optional(),
  latencyRatio: z.number().min(1).default(1.5).describe('Relative: canary p99 may be this many times stable p99'),
  latencyFloorMs: z.number().min(0).default(100).describe('Latencies below this are never judged relative to stable: at a few milliseconds the ratio is noise'),
  latencyWindows: z.number().int().min(1).default(3).describe('Consecutive breaching windows before a latency rollback'),
});
export type SloRules = z.infer<typeof sloSchema>;

export const releaseSchema = z.strictObject({
  stable: z.string().min(1).describe('Version clients get by default; the model is named NAME@VERSION under models'),
  canary: z
    .strictObject({
      version: z.string().min(1),
      steps: z.array(z.number().gt(0).max(100)).min(1).default([5, 20, 50, 100]).describe('Percent of traffic per ramp step'),
      holdSeconds: z.number().min(0).default(300).describe('Time at each step before it may advance'),
    })
    .optional(),
  stickyBy: z
    .enum(['session', 'user', 'key', 'none'])
    .default('session')
    .describe("session: x-session-id, then the body's user, then the API key; user: the body's user; key: the API key"),
  slo: sloSchema.default(sloSchema.parse({})),
});
export type ReleaseConfig = z.infer<typeof releaseSchema>;

export const ALERT_METRICS = ['error_rate', 'p99_latency_ms', 'queue_depth', 'breakers_open'] as const;

export const alertsSchema = z.strictObject({
  webhooks: z.array(z.url()).default([]).describe('Every alert is POSTed as JSON to each of these'),
  retries: z.number().int().min(0).max(10).default(3),
  windowSeconds: z.number().positive().default(60),
  rules: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        metric: z.enum(ALERT_METRICS),
        model: z.string().optional().describe('Only this model (default: any model)'),
        above: z.number(),
        forWindows: z.number().int().min(1).default(1),
      }),
    )
    .default([]),
});
export type AlertsConfig = z.infer<typeof alertsSchema>;
export type AlertRule = AlertsConfig['rules'][number];

export const versionedName = (release: string, version: string) => `${release}@${version}`;
