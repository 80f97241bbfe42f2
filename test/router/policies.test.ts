// Balancing policies, the breaker, retries and config errors as pure functions on crafted states.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutoglmError, seededRandom, type Clock } from '../../src/core/index.js';
import {
  CircuitBreaker,
  PrefixAwarePolicy,
  createPolicy,
  latencyAware,
  leastOutstanding,
  retryDelay,
  roundRobin,
  weighted,
  type ReplicaView,
} from '../../src/router/index.js';
import { ConfigError, parseGatewayConfig } from '../../src/config/index.js';

const view = (id: string, over: Partial<ReplicaView> = {}): ReplicaView => ({ id, weight: 1, outstanding: 0, ...over });
const req = { prompt: 'hello' };

describe('balancing policies', () => {
  it('round robin cycles through replicas in order', () => {
    const p = roundRobin();
    const replicas = [view('a'), view('b'), view('c')];
    assert.deepEqual(
      Array.from({ length: 6 }, () => replicas[p.pick(replicas, req)]!.id),
      ['a', 'b', 'c', 'a', 'b', 'c'],
    );
  });

  it('weighted sends traffic in proportion to weight', () => {
    const p = weighted(seededRandom(1));
    const replicas = [view('a', { weight: 3 }), view('b', { weight: 1 })];
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 4000; i++) counts[replicas[p.pick(replicas, req)]!.id as 'a' | 'b']++;
    assert.ok(Math.abs(counts.a / 4000 - 0.75) < 0.03, JSON.stringify(counts));
  });

  it('least outstanding picks the least loaded per unit of weight', () => {
    const p = leastOutstanding(seededRandom(1));
    assert.equal(p.pick([view('a', { outstanding: 5 }), view('b', { outstanding: 2 }), view('c', { outstanding: 9 })], req), 1);
    assert.equal(p.pick([view('a', { outstanding: 4, weight: 4 }), view('b', { outstanding: 2 })], req), 0, '4 on weight 4 is lighter than 2 on weight 1');
  });

  it('latency-aware prefers low TTFT times load, and tries unmeasured replicas first', () => {
    const p = latencyAware(seededRandom(1));
    assert.equal(p.pick([view('a', { ewmaTtftMs: 100, outstanding: 0 }), view('b', { ewmaTtftMs: 20, outstanding: 1 })], req), 1);
    assert.equal(p.pick([view('a', { ewmaTtftMs: 100, outstanding: 0 }), view('b', { ewmaTtftMs: 20, outstanding: 10 })], req), 0);
    assert.equal(p.pick([view('a', { ewmaTtftMs: 5 }), view('b')], req), 1);
  });

  it('prefix-aware routes a shared prefix back to the replica that saw it', () => {
    const p = new PrefixAwarePolicy(seededRandom(1));
    const system = 'You are a helpful assistant for the ACME support desk. '.repeat(6);
    const replicas = [view('a'), view('b'), view('c')];
    const first = p.pick(replicas, { prompt: `${system}user: where is my order?` });
    p.routed(replicas[first]!, { prompt: `${system}user: where is my order?` });
    for (const q of ['cancel it', 'refund please', 'talk to a human']) {
      const decision = p.decide(
        replicas.map((r, i) => (i === first ? r : view(r.id, { outstanding: 1 }))),
        { prompt: `${system}user: ${q}` },
      );
      assert.equal(decision.index, first);
      assert.equal(decision.reason, 'cache');
      assert.ok(decision.matchedBlocks >= 5, 'decision.matchedBlocks >= 5');
    }
  });

  it('prefix-aware falls back to the least loaded replica when load is imbalanced', () => {
    const p = new PrefixAwarePolicy(seededRandom(1));
    const prompt = 'x'.repeat(640);
    const replicas = [view('a', { outstanding: 20 }), view('b', { outstanding: 2 })];
    p.routed(replicas[0]!, { prompt });
    const decision = p.decide(replicas, { prompt });
    assert.equal(decision.index, 1);
    assert.equal(decision.reason, 'balance');
  });

  it('every configured policy name builds a policy', () => {
    for (const name of ['round_robin', 'weighted', 'least_outstanding', 'latency', 'prefix_aware'] as const) {
      assert.equal(createPolicy(name, seededRandom(1)).name, name);
    }
  });
});

describe('circuit breaker', () => {
  const fakeClock = () => {
    let t = 0;
    const clock: Clock & { advance(ms: number): void } = { now: () => t, sleep: async () => undefined, advance: (ms) => (t += ms) };
    return clock;
  };

  it('opens after consecutive failures, half-opens after the wait, lets one probe through, closes on success', () => {
    const clock = fakeClock();
    const b = new CircuitBreaker({ failureThreshold: 3, openMs: 1000 }, clock);
    b.recordFailure();
    b.recordFailure();
    assert.equal(b.state, 'closed');
    b.recordFailure();
    assert.equal(b.state, 'open');
    assert.equal(b.allows(), false);
    clock.advance(1000);
    assert.equal(b.state, 'half-open');
    assert.equal(b.allows(), true);
    b.begin();
    assert.equal(b.allows(), false, 'only one probe at a time');
    b.recordSuccess();
    assert.equal(b.state, 'closed');
  });

  it('a failed probe opens it again; a success resets the failure count', () => {
    const clock = fakeClock();
    const b = new CircuitBreaker({ failureThreshold: 2, openMs: 100 }, clock);
    b.recordFailure();
    b.recordSuccess();
    b.recordFailure();
    assert.equal(b.state, 'closed');
    b.recordFailure();
    clock.advance(100);
    b.begin();
    b.recordFailure();
    assert.equal(b.state, 'open');
  });
});

describe('retry policy', () => {
  const random = seededRandom(3);
  const err = (status: number) => new AutoglmError(status, 'server_error', 'x', 'x');
  const options = { attempts: 3, baseDelayMs: 100, maxDelayMs: 250 };

  it('retries 5xx and 429 with capped exponential backoff, never 4xx, never past the attempt budget', () => {
    const first = retryDelay(err(502), 1, options, random)!;
    assert.ok(first >= 50 && first <= 100, 'first >= 50 && first <= 100');
    const second = retryDelay(err(429), 2, options, random)!;
    assert.ok(second >= 100 && second <= 200, 'second >= 100 && second <= 200');
    assert.equal(retryDelay(err(400), 1, options, random), undefined);
    assert.equal(retryDelay(err(503), 3, options, random), undefined);
    const capped = retryDelay(err(503), 2, { ...options, attempts: 10, baseDelayMs: 1000 }, random)!;
    assert.ok(capped <= 250, 'capped <= 250');
  });
});

describe('gateway config', () => {
  it('reports the bad key with its file, line and column', () => {
    const yaml = ['models:', '  glm-4:', '    policy: fastest', '    replicas:', '      - type: sim'].join('\n');
    assert.throws(
      () => parseGatewayConfig(yaml, 'autoglm.yaml'),
      (e: Error) => e instanceof ConfigError && /^autoglm\.yaml:3:13: models\.glm-4\.policy: /.test(e.message),
    );
    const typo = ['models:', '  m:', '    replicas:', '      - type: sim', '        wieght: 2'].join('\n');
    assert.throws(() => parseGatewayConfig(typo, 'a.yaml'), /a\.yaml:5:9: models\.m\.replicas\[0\]: .*wieght/);
    assert.throws(() => parseGatewayConfig('models: [1, 2', 'b.yaml'), /b\.yaml:1:\d+: invalid YAML/);
  });

  it('fills defaults for a minimal config', () => {
    const config = parseGatewayConfig('models:\n  m:\n    replicas:\n      - type: openai\n        baseUrl: http://127.0.0.1:9/v1\n');
    const m = config.models.m!;
    assert.equal(m.policy, 'least_outstanding');
    assert.equal(m.retry.attempts, 3);
    assert.equal(m.replicas[0]!.weight, 1);
  });
});
