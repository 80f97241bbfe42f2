// n: 16 on the embedded server: sixteen choices come back, and running them side by side puts no more abort listeners
// on one signal than Node allows (no MaxListenersExceededWarning on the terminal).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/server/index.js';
import { openaiClient, startServer } from '../support/server.js';

describe('a chat request with n: 16 on the embedded engine', () => {
  let server: RunningServer;
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);

  before(async () => {
    server = await startServer({ parallel: 2, contextSize: 512 });
    process.on('warning', onWarning);
  });
  after(async () => {
    process.off('warning', onWarning);
    await server?.close();
  });

  for (const stream of [false, true]) {
    it(`${stream ? 'streamed' : 'whole'}: answers 16 choices and warns of no listener leak`, async () => {
      const client = openaiClient(server);
      const request = { model: 'stories260K', messages: [{ role: 'user' as const, content: 'Once upon a time' }], max_tokens: 4, n: 16, seed: 1 };
      const indexes = new Set<number>();
      if (stream) {
        for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) for (const c of chunk.choices) indexes.add(c.index);
      } else {
        const answer = await client.chat.completions.create(request);
        for (const c of answer.choices) indexes.add(c.index);
      }
      assert.equal(indexes.size, 16, 'sixteen choices');
      // process.emitWarning emits on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      const leaks = warnings.filter((w) => w.name === 'MaxListenersExceededWarning');
      assert.deepEqual(
        leaks.map((w) => w.message),
        [],
        'no MaxListenersExceededWarning',
      );
    });
  }
});
