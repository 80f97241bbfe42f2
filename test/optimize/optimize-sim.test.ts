// `autoglm optimize`'s search on the prompt-sensitive simulator, whose accuracy for any prompt is known: the search
// gets within 2 points of the best accuracy any prompt in its space can reach, in at most half the dev calls random
// search needs to get there, and a resumed run replays its path from the state file without calling the model.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { reasoningConfigSchema } from '../../src/config/index.js';
import type { ChatModel, ChatRequest } from '../../src/core/index.js';
import { loadDataset } from '../../src/datasets/index.js';
import { featuresOf, hiddenKeyWords, SimEngine, sensitiveP } from '../../src/engines/sim/index.js';
import { predictedVoteAccuracy } from '../../src/eval/index.js';
import { callsPerItem, DEMO_CHOICES, itemRequest, optimize, STRATEGY_CHOICES, type Candidate, type OptimizeResult } from '../../src/optimize/index.js';
import { PROMPTS_FOR_TESTS } from './strategy-prompts.js';
import { withReasoning } from '../../src/reasoning/index.js';

const p = 0.3;
const items = loadDataset('gsm8k');
const train = items.slice(0, 30);
const dev = items.slice(30, 180);
const byQuestion = new Map(items.map((i) => [i.question.trim(), i]));

/** Counts the calls that reach the engine. */
function counted(model: ChatModel): ChatModel & { calls: number } {
  const wrapper = {
    calls: 0,
    models: () => model.models(),
    stream(req: ChatRequest, ctx: Parameters<ChatModel['stream']>[1]) {
      wrapper.calls++;
      return model.stream(req, ctx);
    },
  };
  return wrapper;
}

const run = (method: 'tpe' | 'random', statePath?: string) => {
  const engine = counted(new SimEngine({ model: 'sim', preset: 'instant', solver: { dataset: 'gsm8k', p, promptSensitive: true } }));
  const model = withReasoning(engine, reasoningConfigSchema.parse({}));
  return optimize({ model, modelName: 'sim', dataset: 'gsm8k', train, dev, budget: 30, method, seed: 1, concurrency: 8, statePath }).then((r) => ({
    ...r,
    engineCalls: engine.calls,
  }));
};

/** The simulator's own chance of a right answer for a candidate's prompt (its strategy's instructions included). */
function expected(c: Candidate, r: OptimizeResult): number {
  const req = itemRequest(c, dev[0]!, 0, { modelName: 'sim', seed: 1, demos: r.demos });
  const messages = req.input.type === 'messages' ? req.input.messages : [];
  const strategy = PROMPTS_FOR_TESTS[c.strategy.replace(/@\d+$/, '')];
  const q = sensitiveP(
    p,
    featuresOf(
      strategy ? [{ role: 'system', content: strategy }, ...messages] : messages,
      (x) => (x === dev[0]!.question.trim() ? undefined : byQuestion.get(x)),
      'gsm8k',
    ),
  );
  return callsPerItem(c) === 1 ? q : predictedVoteAccuracy(q, callsPerItem(c));
}

/** The best any prompt of the search space can reach: every key word, the best structure, correct demonstrations. */
function bestReachable(demos: number): number {
  let best = 0;
  for (const strategy of STRATEGY_CHOICES)
    for (const d of DEMO_CHOICES.filter((n) => n <= demos)) {
      const single = sensitiveP(p, {
        stepByStep: strategy !== 'direct' && strategy !== 'plan',
        plan: strategy === 'plan',
        correctDemos: d,
        wrongDemos: 0,
        keyWords: hiddenKeyWords('gsm8k').length,
      });
      const k = callsPerItem({ strategy });
      best = Math.max(best, k === 1 ? single : predictedVoteAccuracy(single, k));
    }
  return best;
}

/** Dev calls spent when the search's recommendation first came within 2 points of the best reachable. */
const callsToReach = (r: OptimizeResult, target: number) => r.trials.find((t) => t.recommended && expected(t.recommended, r) >= target - 0.02)?.devCalls;

describe('autoglm optimize on the prompt-sensitive simulator', () => {
  it('gets within 2 points of the best reachable accuracy in at most half the calls of random search', async () => {
    const [tpe, random] = [await run('tpe'), await run('random')];
    const target = bestReachable(tpe.demos.length);
    const reached = callsToReach(tpe, target);
    // Random search may never get there within its budget: its whole budget is then a lower bound on its calls.
    const randomReached = callsToReach(random, target) ?? random.budgetCalls;
    assert.ok(reached !== undefined, `the search never came within 2 points of ${target.toFixed(3)}; it ended at ${expected(tpe.recommended, tpe).toFixed(3)}`);
    assert.ok(expected(tpe.recommended, tpe) >= target - 0.02, 'and its final recommendation stays there');
    assert.ok(reached <= randomReached / 2, `search: ${reached} dev calls, random: ${randomReached}`);
    assert.ok(tpe.devCalls <= tpe.budgetCalls && random.devCalls <= random.budgetCalls, 'both kept to the budget');
  });

  it('resumes from its state file: the same search, without calling the model again', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'autoglm-optimize-')), 'state.json');
    const first = await run('tpe', state);
    const again = await run('tpe', state);
    assert.deepEqual(again.recommended, first.recommended);
    assert.equal(again.trials.length, first.trials.length);
    assert.equal(again.engineCalls, 0, 'every answer came from the state');
  });
});
