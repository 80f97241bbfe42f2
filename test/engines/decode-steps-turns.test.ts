// Decode steps one sequence at a time (speculative decoding): every sequence gets its step in turn, none twice in a row.
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

describe('decode steps one at a time', () => {
  it('decodes one sequence per step, taking turns', async () => {
    const log: string[] = [];
    const steps = new DecodeSteps(true);
    const a = scripted('a', log);
    const b = scripted('b', log);
    const c = scripted('c', log);
    for (const s of [a, b, c]) steps.join(new TokenPump(s.iterator, steps, 10, () => false));
    assert.deepEqual(log, ['a1'], 'one sequence in the first step');
    a.answer(1);
    await tick();
    assert.deepEqual(log, ['a1', 'b1'], 'the next one in turn, alone');
    b.answer(1);
    await tick();
    assert.deepEqual(log, ['a1', 'b1', 'c1']);
    c.answer(1);
    await tick();
    assert.deepEqual(log, ['a1', 'b1', 'c1', 'a2'], 'then the first again');
  });
});
