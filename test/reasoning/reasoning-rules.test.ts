// The reasoning layer's rules as pure functions and on scripted sample streams: task types, answer extraction,
// voting, early stopping, escalation and the selector.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { complete, type ChatCompletion, type ChatRequest } from '../../src/core/index.js';
import { reasoningConfigSchema } from '../../src/config/index.js';
import { predictedVoteAccuracy, wilson } from '../../src/eval/index.js';
import {
  arithmeticScore,
  canStop,
  chooseStrategy,
  classifyTask,
  extractAnswer,
  nextEscalation,
  selfConsistency,
  tally,
  withReasoning,
  type StrategyEnv,
} from '../../src/reasoning/index.js';

describe('task parser', () => {
  const cases: [string, string][] = [
    ['Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did she sell?', 'math'],
    ['((-1 + 2 + 9 * 5) - (-2 + -4 + -4 * -7)) =', 'math'],
    ['not ( True ) and ( False ) is', 'logic'],
    [
      "Today is 3/5, and it is Jane's second time in the year 1973 to see a meteor shower. What is the date tomorrow in MM/DD/YYYY?\nOptions:\n(A) 03/06/1973\n(B) 03/02/1973",
      'logic',
    ],
    ['Write a Python function that returns the n-th Fibonacci number.', 'code'],
    ['Why does this crash?\n```js\nconst x = undefined.y;\n```', 'code'],
    ['Classify the sentiment of this review: "The battery died after two days."', 'classification'],
    ['Summarize the following article in three sentences: The city council met on Tuesday to discuss...', 'summarization'],
    ['Who wrote the novel Middlemarch?', 'open_qa'],
    ['Explain how vaccines train the immune system.', 'open_qa'],
    ['hey there, thanks for the help earlier!', 'chat'],
  ];
  for (const [text, task] of cases) it(`${task}: ${text.slice(0, 50)}`, () => assert.equal(classifyTask(text), task));
});

describe('answer extraction', () => {
  it('finds the final number, option, truth value, code block or text', () => {
    assert.equal(extractAnswer('3 + 4 = 7, then 7 * 2 = 14. The answer is 14.', 'math'), '14');
    assert.equal(extractAnswer('She pays $1,250.00 in all.', 'math'), '1250');
    assert.equal(extractAnswer('#### 72', 'math'), '72');
    assert.equal(extractAnswer('So the answer is (C).', 'logic'), '(C)');
    assert.equal(extractAnswer('Evaluating the inner part first... The answer is False.', 'logic'), 'false');
    assert.equal(extractAnswer('Here:\n```python\ndef f():\n    return 1\n```', 'code'), 'def f():\n    return 1');
    assert.equal(extractAnswer('The answer is Paris.', 'open_qa'), 'paris');
    assert.equal(extractAnswer('', 'math'), undefined);
  });

  it('checks the arithmetic written in an answer', () => {
    assert.equal(arithmeticScore('16 - 3 = 13 and 13 * 2 = 26'), 1);
    assert.equal(arithmeticScore('16 - 3 = 13 and 13 * 2 = 28'), 0.5);
    assert.equal(arithmeticScore('no calculations here'), undefined);
  });
});

describe('voting and early stopping', () => {
  it('elects the most frequent answer, the first seen on a tie, ignoring unreadable ones', () => {
    const t = tally(['7', '9', undefined, '9', '7', '9']);
    assert.equal(t.leader, '9');
    assert.equal(t.votes, 3);
    assert.equal(t.runnerUp, 2);
    assert.equal(tally(['4', '5']).leader, '4');
    assert.equal(tally([undefined]).leader, undefined);
  });

  it('stops when an answer repeats and no other does, or when the leader cannot be overtaken', () => {
    const rule = { max: 8, agreement: 2 };
    assert.equal(canStop(tally(['3', '3']), 2, rule), true);
    assert.equal(canStop(tally(['3', '5']), 2, rule), false);
    assert.equal(canStop(tally(['3', '5', '3']), 3, rule), true);
    assert.equal(canStop(tally(['3', '5', '3', '5']), 4, rule), false, 'two answers repeat: keep sampling');
    assert.equal(canStop(tally(['3', '5', '3', '5', '3', '3', '3']), 7, rule), true, '5 votes to 2 with 1 left');
    assert.equal(canStop(tally(['1', '2', '3', '4', '5', '6', '7', '8']), 8, rule), true, 'the cap');
  });

  it('matches what the math predicts for a vote', () => {
    assert.equal(predictedVoteAccuracy(0.6, 1), 0.6);
    assert.ok(Math.abs(predictedVoteAccuracy(0.6, 8) - 0.9925) < 0.001, 'Math.abs(predictedVoteAccuracy(0.6, 8) - 0.9925) < 0.001');
    const [lo, hi] = wilson(60, 100);
    assert.ok(lo < 0.6 && hi > 0.6 && hi - lo < 0.2, 'lo < 0.6 && hi > 0.6 && hi - lo < 0.2');
  });
});

describe('self-consistency on scripted samples', () => {
  /** Sample k answers script[k]; every call is recorded. */
  function scripted(script: string[]) {
    const seeds: number[] = [];
    const env: StrategyEnv = {
      task: 'math',
      seed: 100,
      base: { model: 'm', input: { type: 'messages', messages: [{ role: 'user', content: 'q' }] }, stop: [], responseFormat: { type: 'text' }, n: 1 },
      ask: async (req: ChatRequest): Promise<ChatCompletion> => {
        seeds.push(req.seed!);
        return {
          choices: [{ index: 0, text: `The answer is ${script[req.seed! - 100]}.`, finishReason: 'stop' }],
          usage: { promptTokens: 1, completionTokens: 1, cachedPromptTokens: 0 },
        };
      },
    };
    return { env, seeds };
  }

  it('adaptive mode stops at the first repeat and agrees with the full vote', async () => {
    const { env, seeds } = scripted(['12', '40', '12', '7', '12', '9', '12', '3']);
    const adaptive = await selfConsistency(env, 8, true);
    assert.equal(adaptive.answer, '12');
    assert.equal(adaptive.samples, 3);
    assert.deepEqual(seeds.sort(), [100, 101, 102]);
    const full = await selfConsistency(scripted(['12', '40', '12', '7', '12', '9', '12', '3']).env, 8, false);
    assert.equal(full.answer, '12');
    assert.equal(full.samples, 8);
    assert.equal(full.confidence, 0.5);
  });

  it('draws up to the cap when answers keep disagreeing', async () => {
    const result = await selfConsistency(scripted(['1', '2', '3', '4', '5', '6', '7', '8']).env, 8, true);
    assert.equal(result.samples, 8);
    assert.equal(result.confidence, 0.125);
  });
});

describe('feedback controller and selector', () => {
  const cascade = new Map([['small', 'large']]);

  it('escalates a low-confidence answer: stronger strategy, more samples, then the larger model', () => {
    assert.deepEqual(nextEscalation({ strategy: 'cot', model: 'small', confidence: 0 }, 0.6, cascade, new Set()), {
      kind: 'stronger_strategy',
      strategy: 'asc',
    });
    assert.deepEqual(nextEscalation({ strategy: 'asc', model: 'small', confidence: 0.4, maxSamples: 8 }, 0.6, cascade, new Set()), {
      kind: 'more_samples',
      maxSamples: 16,
    });
    assert.deepEqual(nextEscalation({ strategy: 'asc', model: 'small', confidence: 0.4, maxSamples: 32 }, 0.6, cascade, new Set()), {
      kind: 'larger_model',
      model: 'large',
    });
    assert.equal(nextEscalation({ strategy: 'asc', model: 'large', confidence: 0.4, maxSamples: 32 }, 0.6, cascade, new Set()), undefined);
    assert.equal(nextEscalation({ strategy: 'asc', model: 'small', confidence: 0.9, maxSamples: 8 }, 0.6, cascade, new Set()), undefined);
    assert.equal(
      nextEscalation({ strategy: 'direct', model: 'small', confidence: undefined }, 0.6, cascade, new Set()),
      undefined,
      'no measure, no escalation',
    );
  });

  it('gives reasoning tasks samples when the budget allows, and answers the rest directly', () => {
    assert.deepEqual(chooseStrategy('math', undefined, 300), { strategy: 'asc', maxSamples: 8 });
    assert.deepEqual(chooseStrategy('logic', 1000, 300), { strategy: 'asc', maxSamples: 3 });
    assert.deepEqual(chooseStrategy('math', 400, 300), { strategy: 'cot' });
    assert.deepEqual(chooseStrategy('summarization', undefined, 300), { strategy: 'direct' });
    assert.deepEqual(chooseStrategy('code', undefined, 300), { strategy: 'reflect' });
  });
});

describe('reasoner escalation', () => {
  it('doubles the samples of a fixed-size self-consistency the caller sized, drawing only the new ones, while more could reach the threshold', async () => {
    let calls = 0;
    const model = {
      models: () => [{ id: 'm', ownedBy: 'test', created: 0 }],
      async *stream() {},
      async complete(): Promise<ChatCompletion> {
        calls++;
        return {
          choices: [{ index: 0, text: `The answer is ${calls}.`, finishReason: 'stop' }],
          usage: { promptTokens: 1, completionTokens: 1, cachedPromptTokens: 0 },
        };
      },
    };
    const reasoner = withReasoning(model, reasoningConfigSchema.parse({ confidence: 0.6, maxEscalations: 3 }));
    const report: { headers: Record<string, string>; reasoning?: Record<string, unknown> } = { headers: {} };
    await complete(
      reasoner,
      {
        model: 'sc:m',
        input: { type: 'messages', messages: [{ role: 'user', content: 'How many apples are 3 and 4?' }] },
        stop: [],
        responseFormat: { type: 'text' },
        n: 1,
        reasoning: { samples: 2 },
      },
      { signal: new AbortController().signal, requestId: 'r', report },
    );
    // 2 samples, then 2 more (4), then 4 more (8); 16 could not reach 0.6 with 1 vote of 8 (9/16), so it stops there.
    assert.equal(calls, 8);
    assert.deepEqual(
      (report.reasoning!.escalations as { kind: string }[]).map((e) => e.kind),
      ['more_samples', 'more_samples'],
    );
  });
});
