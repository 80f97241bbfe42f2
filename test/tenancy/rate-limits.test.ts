// Token budgets on the in-memory counters: a monthly budget holds across calls spread over time.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { LimitRefusal, RateLimits } from '../../src/tenancy/index.js';

describe('rate limits in memory', () => {
  for (const [field, word] of [
    ['tokensPerMonth', 'monthly'],
    ['tokensPerDay', 'daily'],
  ] as const) {
    it(`refuses a key past its ${word} budget of 30 tokens, without a timer overflow`, async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
      process.on('warning', onWarning);
      try {
        const limits = new RateLimits();
        const subject = { tenant: 'acme', keyId: 'k1', tenantLimits: {}, keyLimits: { [field]: 30 } };
        const statuses: (number | string)[] = [];
        for (let i = 0; i < 10; i++) {
          try {
            const admission = await limits.admit(subject, 'm', 6);
            await admission.settle(6);
            statuses.push(200);
          } catch (err) {
            assert.ok(err instanceof LimitRefusal, String(err));
            statuses.push(`${err.status} ${err.code}`);
          }
          // Calls are apart in time, as real ones are: a counter that expires at once would be gone by the next.
          await sleep(20);
        }
        assert.deepEqual(statuses, [200, 200, 200, 200, 200, ...Array(5).fill('429 budget_exceeded')]);
        // The warning is emitted on the next tick of the timer's creation.
        await sleep(20);
        assert.deepEqual(
          warnings.filter((w) => /TimeoutOverflow/.test(w)),
          [],
        );
      } finally {
        process.off('warning', onWarning);
      }
    });
  }
});
