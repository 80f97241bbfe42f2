// The simulator's prompt-sensitive solver: what it observes in a prompt moves its accuracy, as documented, and it
// answers the instruction-proposal meta-prompt.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { complete, type ChatMessage } from '../../src/core/index.js';
import { loadDataset } from '../../src/datasets/index.js';
import { SimEngine } from '../../src/engines/sim/index.js';
import { bestSingleP, featuresOf, hiddenKeyWords, META_MARKER, sensitiveP } from '../../src/engines/sim/prompt-sensitivity.js';
import { extractAnswer } from '../../src/reasoning/index.js';

const items = loadDataset('gsm8k');
const p = 0.4;
const engine = new SimEngine({ model: 'sim', preset: 'instant', solver: { dataset: 'gsm8k', p, promptSensitive: true } });
const ask = (messages: ChatMessage[], seed: number) =>
  complete(
    engine,
    { model: 'sim', input: { type: 'messages', messages }, stop: [], responseFormat: { type: 'text' }, n: 1, seed },
    {
      signal: new AbortController().signal,
      requestId: 'r',
    },
  );

/** Measured accuracy of a prompt (system text, demos) over items 200..200+n. */
async function accuracy(system: string, demos: { q: string; a: string }[], n = 400): Promise<number> {
  let right = 0;
  for (let i = 0; i < n; i++) {
    const item = items[200 + i]!;
    const messages: ChatMessage[] = [
      ...(system ? [{ role: 'system' as const, content: system }] : []),
      ...demos.flatMap((d) => [
        { role: 'user' as const, content: d.q },
        { role: 'assistant' as const, content: d.a },
      ]),
      { role: 'user', content: item.question },
    ];
    const result = await ask(messages, i);
    if (extractAnswer(result.choices[0]!.text, 'math') === item.answer) right++;
  }
  return right / n;
}

const demo = (i: number, right: boolean) => ({ q: items[i]!.question, a: `So the answer is ${right ? items[i]!.answer : Number(items[i]!.answer) + 7}.` });

describe('the prompt-sensitive simulator', () => {
  it('answers a bare question right about p of the time', async () => {
    const a = await accuracy('', []);
    assert.ok(Math.abs(a - p) < 0.06, `accuracy ${a}`);
  });

  it('does better when asked to think step by step, with correct demonstrations, and with the key words', async () => {
    const keys = hiddenKeyWords('gsm8k');
    const bare = await accuracy('Answer.', []);
    const step = await accuracy('Answer. Think step by step.', []);
    const demos = await accuracy('Answer.', [demo(0, true), demo(1, true), demo(2, true), demo(3, true)]);
    const keyed = await accuracy(`Answer ${keys.join(' ')}.`, []);
    assert.ok(step > bare + 0.05, `step by step ${step} vs ${bare}`);
    assert.ok(demos > bare + 0.05, `correct demos ${demos} vs ${bare}`);
    assert.ok(keyed > bare + 0.1, `key words ${keyed} vs ${bare}`);
  });

  it('does worse with wrong demonstrations and with too many', async () => {
    const right = await accuracy('', [demo(0, true), demo(1, true), demo(2, true)]);
    const wrong = await accuracy('', [demo(0, false), demo(1, false), demo(2, false)]);
    assert.ok(wrong < right - 0.1, `wrong demos ${wrong} vs right ${right}`);
    const eight = sensitiveP(p, { stepByStep: false, plan: false, correctDemos: 8, wrongDemos: 0, keyWords: 0 });
    const sixteen = sensitiveP(p, { stepByStep: false, plan: false, correctDemos: 16, wrongDemos: 0, keyWords: 0 });
    assert.ok(sixteen < eight, `16 demos ${sixteen} vs 8 ${eight}`);
  });

  it('measures what sensitiveP predicts, and nothing beats bestSingleP', async () => {
    const keys = hiddenKeyWords('gsm8k');
    const system = `Solve it ${keys[0]} ${keys[1]}. Think step by step.`;
    const demos = [demo(0, true), demo(1, true), demo(5, false)];
    const messages: ChatMessage[] = [
      { role: 'system', content: system },
      ...demos.flatMap((d) => [
        { role: 'user' as const, content: d.q },
        { role: 'assistant' as const, content: d.a },
      ]),
    ];
    const predicted = sensitiveP(
      p,
      featuresOf(messages, (q) => items.find((i) => i.question.trim() === q), 'gsm8k'),
    );
    const measured = await accuracy(system, demos, 600);
    assert.ok(Math.abs(measured - predicted) < 0.05, `measured ${measured}, predicted ${predicted}`);
    assert.ok(bestSingleP(p) > predicted, 'the best reachable is above this prompt');
  });

  it('answers the meta-prompt with a new instruction built from the best ones shown', async () => {
    const meta = `Instruction: Solve the problem carefully.\nScore: 0.61\n\nInstruction: Be a calm tutor.\nScore: 0.40\n\n${META_MARKER}`;
    const texts = new Set<string>();
    for (let seed = 0; seed < 12; seed++) {
      const text = (await ask([{ role: 'user', content: meta }], seed)).choices[0]!.text;
      assert.match(text, /^Instruction: Solve the problem carefully/, text);
      texts.add(text);
    }
    assert.ok(texts.size > 3, `varied proposals: ${[...texts].join(' | ')}`);
  });
});
