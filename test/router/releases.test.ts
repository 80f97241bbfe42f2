// The release rules as pure functions: SLO windows, rollout decisions, the sticky canary split, alert rules, and the
// clocks a rollout is timed and reported by.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { releaseSchema, sloSchema } from '../../src/config/index.js';
import type { Clock } from '../../src/core/index.js';
import { evaluateAlerts, type AlertState } from '../../src/observability/index.js';
import { CanaryRollout, decide, evaluateWindow, inCanary, type RolloutState, type WindowVerdict } from '../../src/router/index.js';

const rules = sloSchema.parse({ minRequests: 20 });
const stats = (requests: number, errors: number, p99LatencyMs?: number) => ({ requests, errors, errorRate: requests ? errors / requests : 0, p99LatencyMs });

describe('SLO windows', () => {
  it('says nothing about a window with too few canary requests', () => {
    assert.deepEqual(evaluateWindow(stats(19, 19), stats(100, 0), rules), { kind: 'insufficient' });
  });

  it('breaches on an absolute error rate, and relative to stable', () => {
    const absolute = evaluateWindow(stats(100, 6), stats(100, 0), rules);
    assert.equal(absolute.kind, 'breach');
    assert.equal(absolute.kind === 'breach' && absolute.breaches[0]!.against, 'absolute');
    // 4% is under the absolute 5%, but 4 points above a stable version failing 0.5% (margin 3 points).
    const relative = evaluateWindow(stats(100, 4), stats(200, 1), rules);
    assert.equal(relative.kind === 'breach' && relative.breaches[0]!.against, 'stable');
    assert.equal(evaluateWindow(stats(100, 2), stats(200, 1), rules).kind, 'healthy');
  });

  it('breaches on p99 latency above 2 s, or 1.5x the stable p99', () => {
    const slow = evaluateWindow(stats(100, 0, 2500), stats(100, 0, 2400), rules);
    assert.equal(slow.kind === 'breach' && slow.breaches[0]!.metric, 'p99_latency_ms');
    const relative = evaluateWindow(stats(100, 0, 700), stats(100, 0, 400), rules);
    assert.equal(relative.kind === 'breach' && relative.breaches[0]!.against, 'stable');
    assert.equal(evaluateWindow(stats(100, 0, 500), stats(100, 0, 400), rules).kind, 'healthy');
    assert.equal(evaluateWindow(stats(100, 0, 9), stats(100, 0, 3), rules).kind, 'healthy', 'milliseconds apart is noise, not a regression');
  });
});

describe('rollout decisions', () => {
  const breach = (kind: 'error_rate' | 'latency'): WindowVerdict => ({
    kind: 'breach',
    breaches: [{ kind, metric: kind, value: 1, threshold: 0, against: 'absolute' }],
  });
  const healthy: WindowVerdict = { kind: 'healthy' };

  it('rolls back after two error windows in a row, latency after three', () => {
    assert.equal(decide([healthy, breach('error_rate')], rules, 0, 0).action, 'hold');
    assert.equal(decide([breach('error_rate'), breach('error_rate')], rules, 0, 0).action, 'rollback');
    assert.equal(decide([breach('latency'), breach('latency')], rules, 0, 0).action, 'hold');
    assert.equal(decide([breach('latency'), breach('latency'), breach('latency')], rules, 0, 0).action, 'rollback');
    assert.equal(decide([breach('error_rate'), { kind: 'insufficient' }, breach('error_rate')], rules, 0, 0).action, 'hold', 'a quiet window breaks the run');
  });

  it('advances only after the hold time, and only from a healthy window', () => {
    assert.equal(decide([healthy], rules, 1000, 5000).action, 'hold');
    assert.equal(decide([healthy], rules, 5000, 5000).action, 'advance');
    assert.equal(decide([{ kind: 'insufficient' }], rules, 9000, 5000).action, 'hold');
  });
});

describe('sticky canary split', () => {
  const users = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

  it('sends about the canary share of callers, each always to the same side', () => {
    const share = users.filter((u) => inCanary(u, 20)).length / users.length;
    assert.ok(Math.abs(share - 0.2) < 0.02, `share ${share}`);
    assert.ok(
      users.filter((u) => inCanary(u, 20)).every((u) => inCanary(u, 50) && inCanary(u, 20)),
      'a caller on the canary at 20% stays on it at 50%, and every time it asks',
    );
  });

  it('keeps callers on the canary as its share grows', () => {
    for (const [low, high] of [
      [5, 20],
      [20, 50],
      [50, 100],
    ]) {
      assert.ok(
        users.every((u) => !inCanary(u, low!) || inCanary(u, high!)),
        `${low}% -> ${high}%`,
      );
    }
    assert.ok(
      users.every((u) => !inCanary(u, 0) && inCanary(u, 100)),
      'users.every((u) => !inCanary(u, 0) && inCanary(u, 100))',
    );
  });
});

describe('alert rules', () => {
  const rule = { name: 'errors', metric: 'error_rate' as const, above: 0.1, forWindows: 2 };

  it('fires after the given windows above the threshold, once, and resolves when it clears', () => {
    let state: AlertState = new Map();
    const step = (errorRate: number) => {
      const r = evaluateAlerts([rule], new Map([['chat', { errorRate }]]), state);
      state = r.state;
      return r.events.map((e) => e.type);
    };
    assert.deepEqual(step(0.5), []);
    assert.deepEqual(step(0.5), ['alert.firing']);
    assert.deepEqual(step(0.5), []);
    assert.deepEqual(step(0.0), ['alert.resolved']);
    assert.deepEqual(step(0.0), []);
  });
});

describe('rollout clocks', () => {
  // The monotonic clock (what holds are timed by) and the wall clock (what is reported and kept) on their own dials.
  const clocks = (mono = 5_000, wall = Date.parse('2026-03-01T12:00:00Z')) => {
    const t = { mono, wall };
    const clock: Clock = { now: () => t.mono, sleep: async () => undefined };
    const advance = (ms: number) => {
      t.mono += ms;
      t.wall += ms;
    };
    return { t, clock, advance, wallNow: () => t.wall };
  };
  const config = releaseSchema.parse({ stable: 'v1', canary: { version: 'v2', steps: [10, 50], holdSeconds: 60 }, slo: { minRequests: 5 } });
  const healthy = { requests: 50, errors: 0, errorRate: 0 };
  const memoryStore = () => {
    const saved = new Map<string, RolloutState>();
    return { load: (r: string) => saved.get(r), save: (s: RolloutState) => void saved.set(s.release, structuredClone(s)) };
  };

  it('reports when a step started as wall-clock time, while holds are timed on the monotonic clock', () => {
    const { t, clock, advance, wallNow } = clocks();
    const rollout = new CanaryRollout('chat', config, clock, undefined, undefined, wallNow);
    assert.equal(rollout.snapshot.stepStartedMs, Date.parse('2026-03-01T12:00:00Z'));
    assert.equal(rollout.snapshot.stepStartedAt, '2026-03-01T12:00:00.000Z');
    // The wall clock is set back an hour (NTP, a VM resumed): the hold still counts the minute that really passed.
    t.wall -= 3_600_000;
    advance(59_000);
    rollout.onWindow(healthy, healthy);
    assert.equal(rollout.snapshot.step, 0, 'held 59 s of 60');
    advance(1_000);
    rollout.onWindow(healthy, healthy);
    assert.equal(rollout.snapshot.step, 1);
    assert.equal(rollout.snapshot.stepStartedAt, '2026-03-01T11:01:00.000Z');
    assert.equal(rollout.snapshot.updatedAt, rollout.snapshot.stepStartedAt);
  });

  it('resumes a kept rollout with the time its step had already held', () => {
    const store = memoryStore();
    const first = clocks();
    new CanaryRollout('chat', config, first.clock, store, undefined, first.wallNow);
    // A restart 45 s later: a new process, whose monotonic clock starts again near zero.
    const second = clocks(10, first.t.wall + 45_000);
    const resumed = new CanaryRollout('chat', config, second.clock, store, undefined, second.wallNow);
    assert.equal(resumed.snapshot.stepStartedAt, '2026-03-01T12:00:00.000Z');
    second.t.mono += 14_000;
    resumed.onWindow(healthy, healthy);
    assert.equal(resumed.snapshot.step, 0, '59 s held in all');
    second.t.mono += 1_000;
    resumed.onWindow(healthy, healthy);
    assert.equal(resumed.snapshot.step, 1, '60 s held across the restart');
  });

  it('restarts the hold of a state kept by a version that stored the monotonic clock, reporting the time it resumed', () => {
    const store = memoryStore();
    store.save({ release: 'chat', stable: 'v1', canary: 'v2', status: 'ramping', step: 0, stepStartedMs: 1234.5, reason: null, updatedMs: 1300 });
    const { clock, advance, wallNow } = clocks(20);
    const resumed = new CanaryRollout('chat', config, clock, store, undefined, wallNow);
    assert.equal(resumed.snapshot.stepStartedAt, '2026-03-01T12:00:00.000Z');
    advance(59_000);
    resumed.onWindow(healthy, healthy);
    assert.equal(resumed.snapshot.step, 0);
  });
});
