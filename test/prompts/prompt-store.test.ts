// The prompt store's record of what served each request: kept for the feedback window, then swept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PromptStore } from '../../src/prompts/index.js';

describe('the record of what served a request', () => {
  it('answers for a request inside the feedback window and forgets one past it', () => {
    let t = 1_000_000;
    const store = new PromptStore(':memory:', 10_000, () => t);
    store.served({ requestId: 'old', tenant: 'acme', prompt: 'p', version: 1, scope: 'global' });
    store.flush();
    assert.equal(store.servedBy('acme', 'old')?.version, 1);
    assert.equal(store.servedBy('beta', 'old'), undefined, 'another tenant does not see it');
    t += 70_000;
    store.served({ requestId: 'new', tenant: 'acme' });
    store.flush();
    assert.equal(store.servedBy('acme', 'old'), undefined, 'past the window');
    assert.deepEqual(store.servedBy('acme', 'new'), { requestId: 'new', tenant: 'acme' });
    store.close();
  });
});
