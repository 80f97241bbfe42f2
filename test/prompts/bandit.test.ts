// The feedback bandit: the pure policy on tables of arms, and the whole loop on the prompt-sensitive simulator, where
// feedback is whether the answer was right.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { complete, seededRandom, type CallReport } from '../../src/core/index.js';
import { promptsConfigSchema } from '../../src/config/index.js';
import { loadDataset } from '../../src/datasets/index.js';
import { SimEngine } from '../../src/engines/sim/index.js';
import { featuresOf, sensitiveP } from '../../src/engines/sim/prompt-sensitivity.js';
import { betaDraw, chooseArm, PromptCatalog, withManagedPrompts, type Arm } from '../../src/prompts/index.js';
import { extractAnswer } from '../../src/reasoning/index.js';

const shares = (arms: Arm[], floor: number, draws = 4000, seed = 1) => {
  const random = seededRandom(seed);
  const counts = new Map(arms.map((a) => [a.id, 0]));
  for (let i = 0; i < draws; i++) {
    const id = chooseArm(arms, random, floor);
    counts.set(id, counts.get(id)! + 1);
  }
  return Object.fromEntries([...counts].map(([id, n]) => [id, n / draws]));
};

describe('the bandit policy', () => {
  const table: { name: string; arms: Arm[]; floor: number; check: (s: Record<string, number>) => void }[] = [
    {
      name: 'no feedback yet: an even split',
      arms: [
        { id: '1', rewards: 0, trials: 0 },
        { id: '2', rewards: 0, trials: 0 },
      ],
      floor: 0.05,
      check: (s) => assert.ok(Math.abs(s['1']! - 0.5) < 0.04, `share ${s['1']}`),
    },
    {
      name: 'a clear winner takes nearly all but the floor',
      arms: [
        { id: '1', rewards: 20, trials: 100 },
        { id: '2', rewards: 80, trials: 100 },
      ],
      floor: 0.05,
      check: (s) => {
        assert.ok(s['2']! > 0.9, `winner ${s['2']}`);
        assert.ok(s['1']! >= 0.04, `the loser keeps about the floor: ${s['1']}`);
      },
    },
    {
      name: 'a floor of 0.2 keeps 20% on the loser',
      arms: [
        { id: '1', rewards: 0, trials: 200 },
        { id: '2', rewards: 200, trials: 200 },
      ],
      floor: 0.2,
      check: (s) => assert.ok(Math.abs(s['1']! - 0.2) < 0.03, `loser ${s['1']}`),
    },
    {
      name: 'uncertain arms share traffic: a few trials decide little',
      arms: [
        { id: '1', rewards: 1, trials: 2 },
        { id: '2', rewards: 2, trials: 3 },
      ],
      floor: 0,
      check: (s) => assert.ok(s['1']! > 0.25 && s['1']! < 0.5, `share ${s['1']}`),
    },
    {
      name: 'three arms, the best leads',
      arms: [
        { id: 'a', rewards: 30, trials: 100 },
        { id: 'b', rewards: 50, trials: 100 },
        { id: 'c', rewards: 70, trials: 100 },
      ],
      floor: 0.02,
      check: (s) => assert.ok(s.c! > 0.85 && s.a! >= 0.015 && s.b! >= 0.015, JSON.stringify(s)),
    },
  ];
  for (const row of table) it(row.name, () => row.check(shares(row.arms, row.floor)));

  it('draws Beta means where the arithmetic puts them', () => {
    const random = seededRandom(9);
    let sum = 0;
    for (let i = 0; i < 5000; i++) sum += betaDraw(3, 7, random);
    assert.ok(Math.abs(sum / 5000 - 0.3) < 0.01, `mean ${sum / 5000}`);
  });

  it('is a function of its Random: the same seed picks the same arms', () => {
    const arms = [
      { id: '1', rewards: 3, trials: 10 },
      { id: '2', rewards: 5, trials: 10 },
    ];
    const run = () =>
      Array.from(
        { length: 50 },
        (
          (r) => () =>
            chooseArm(arms, r, 0.05)
        )(seededRandom(4)),
      );
    assert.deepEqual(run(), run());
  });
});

describe('learning from feedback on the prompt-sensitive simulator', () => {
  it('sends at least 80% of traffic to the version 10 points better within 500 requests, keeping the floor on the other', async () => {
    const p = 0.65;
    const floor = 0.05;
    const prompts = promptsConfigSchema.parse({
      solver: {
        versions: { '1': { instructions: 'Answer the question.' }, '2': { instructions: 'Answer the question. Think step by step.' } },
        bandit: { floor },
      },
    });
    const items = loadDataset('gsm8k');
    // What the simulator makes of each version: the gap the bandit has to find.
    const pOf = (instructions: string) =>
      sensitiveP(
        p,
        featuresOf([{ role: 'system', content: instructions }], () => undefined, 'gsm8k'),
      );
    const gap = pOf(prompts.solver!.versions['2']!.instructions) - pOf(prompts.solver!.versions['1']!.instructions);
    assert.ok(gap > 0.095 && gap < 0.115, `the versions differ by ${gap}`);

    const engine = new SimEngine({ model: 'sim', preset: 'instant', solver: { dataset: 'gsm8k', p, promptSensitive: true } });
    const catalog = new PromptCatalog(':memory:', { prompts, seed: 11 });
    const model = withManagedPrompts(engine, catalog);
    const served: string[] = [];
    for (let i = 0; i < 500; i++) {
      const item = items[i % items.length]!;
      const report: CallReport = { headers: {} };
      const requestId = `req-${i}`;
      const result = await complete(
        model,
        {
          model: 'sim',
          input: { type: 'messages', messages: [{ role: 'user', content: item.question }] },
          stop: [],
          responseFormat: { type: 'text' },
          n: 1,
          seed: i,
          reasoning: { prompt: 'solver' },
        },
        { signal: new AbortController().signal, requestId, tenant: 'acme', report },
      );
      served.push(report.headers['x-autoglm-prompt']!);
      const right = extractAnswer(result.choices[0]!.text, 'math') === item.answer;
      catalog.feedback('acme', { requestId }, right ? 1 : 0);
    }
    catalog.close();
    const late = served.slice(400);
    const better = late.filter((v) => v === 'solver@2').length / late.length;
    const worse = served.filter((v) => v === 'solver@1').length / served.length;
    assert.ok(better >= 0.8, `share of the better version in requests 401-500: ${better}`);
    assert.ok(worse >= floor, `share of the worse version over the run: ${worse}`);
  });
});
