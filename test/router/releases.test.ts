// The release rules as pure functions: SLO windows, rollout decisions, the sticky canary split, and alert rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sloSchema } from '../../src/config/index.js';
import { evaluateAlerts, type AlertState } from '../../src/observability/index.js';
import { decide, evaluateWindow, inCanary, type WindowVerdict } from '../../src/router/index.js';

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
  const breach = (kind: 'error_rate' | 'latency'): WindowVerdict => ({ kind: 'breach', breaches: [{ kind, metric: kind, value: 1, threshold: 0, against: 'absolute' }] });
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
    assert.ok(users.every((u) => inCanary(u, 20) === inCanary(u, 20)), 'users.every((u) => inCanary(u, 20) === inCanary(u, 20))');
  });

  it('keeps callers on the canary as its share grows', () => {
    for (const [low, high] of [[5, 20], [20, 50], [50, 100]]) {
      assert.ok(users.every((u) => !inCanary(u, low!) || inCanary(u, high!)), `${low}% -> ${high}%`);
    }
    assert.ok(users.every((u) => !inCanary(u, 0) && inCanary(u, 100)), 'users.every((u) => !inCanary(u, 0) && inCanary(u, 100))');
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
