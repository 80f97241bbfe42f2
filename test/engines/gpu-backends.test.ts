// Asking for a GPU backend this machine cannot run is refused, naming those it can; never a silent CPU fallback.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LlamaEngine, ModelUnavailableError, gpuBackends } from '../../src/engines/llama/index.js';
import { testPaths } from '../support/server.js';

describe('GPU backends', () => {
  it('a backend this machine lacks fails the load with the list of usable ones', async (t) => {
    const { usable } = await gpuBackends();
    assert.ok(usable.includes('cpu'), `the CPU is always usable: ${usable.join(', ')}`);
    // cuda and vulkan have builds here but may lack drivers; metal has no build off a Mac and used to fall back to the CPU.
    const missing = (['cuda', 'vulkan', 'metal'] as const).filter((g) => !usable.includes(g));
    if (!missing.length) return t.skip('this machine runs every backend');
    for (const gpu of missing) {
      await assert.rejects(LlamaEngine.load({ model: 'stories260K', gpu, threads: 1, parallel: 1 }, testPaths()), (err: Error) => {
        assert.ok(err instanceof ModelUnavailableError, `${gpu}: a ModelUnavailableError, not ${err.name}: ${err.message}`);
        assert.equal(
          err.message,
          `GPU backend '${gpu}' is not usable on this machine (usable here: ${usable.join(', ')}); choose --gpu ${[...usable.map((b) => (b === 'cpu' ? 'off' : b)), 'auto'].join(' | ')}`,
        );
        return true;
      });
    }
  });
});
