// Step-synchronous batching: sequences ask for tokens together, a slow reader sits out, an end token ends a pump.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeSteps, TokenPump } from '../../src/engines/llama/decode-steps.js';

/** A scripted evaluation: each next() waits until the test resolves it, and the log records when it was asked. */
function scripted(name: string, log: string[]) {
  const pending: ((v: IteratorResult<number, void>) => void)[] = [];
  let n = 0;
  const iterator: AsyncIterator<number, void> = {
    next: () => {
      log.push(`${name}${++n}`);
      return new Promise((resolve) => pending.push(resolve));
    },
  };
  return { iterator, answer: (token: number) => pending.shift()!({ done: false, value: token }) };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('decode steps', () => {
  it('a sequence asks for its next token only when no sequence is still decoding', async () => {
    const log: string[] = [];
    const steps = new DecodeSteps();
    const a = scripted('a', log);
    const b = scripted('b', log);
    const pa = new TokenPump(a.iterator, steps, 10, () => false);
    const pb = new TokenPump(b.iterator, steps, 10, () => false);
    steps.join(pa);
    steps.join(pb);
    assert.deepEqual(log, ['a1'], 'b waits for the step a already started');
    a.answer(1);
    await tick();
    assert.deepEqual(log, ['a1', 'a2', 'b1'], 'both ask together in the next step');
    a.answer(2);
    await tick();
    assert.deepEqual(log, ['a1', 'a2', 'b1'], 'a does not run ahead while b is decoding');
    b.answer(7);
    await tick();
    assert.deepEqual(log.slice(3).sort(), ['a3', 'b2']);
    assert.equal(await pa.take(), 1);
    assert.equal(await pb.take(), 7);
  });

  it('stops at the budget and at an end token, and a reader that falls behind sits out', async () => {
    const log: string[] = [];
    const steps = new DecodeSteps();
    const a = scripted('a', log);
    const pump = new TokenPump(a.iterator, steps, 20, (t) => t === 99);
    steps.join(pump);
    for (let i = 0; i < 8; i++) {
      a.answer(i);
      await tick();
    }
    assert.equal(log.length, 8, 'no ninth request while 8 tokens wait unread');
    assert.equal(await pump.take(), 0);
    await tick();
    assert.equal(log.length, 9, 'reading one lets it continue');
    a.answer(99);
    await tick();
    for (let i = 1; i < 8; i++) assert.equal(await pump.take(), i);
    assert.equal(await pump.take(), 99);
    assert.equal(await pump.take(), undefined, 'nothing after the end token');
    assert.equal(log.length, 9);
  });
});
