// The reasoner against scripted models below it: finish reasons, the token budget (best answer so far, a default
// budget), escalation that never repeats work, compact votes, the cache's word on a whole reasoned answer, one abort
// listener per request, rag fitted to the context, and the one strategy grammar for prefixes and eval.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import {
  AutoglmError,
  complete,
  type CallContext,
  type CallReport,
  type ChatCompletion,
  type ChatModel,
  type ChatRequest,
  type FinishReason,
} from '../../src/core/index.js';
import { reasoningConfigSchema } from '../../src/config/index.js';
import { MemoryCacheStore, withResponseCache } from '../../src/cache/index.js';
import { parseStrategySpec as evalSpec } from '../../src/eval/index.js';
import { BudgetSpent, fitPassages, nextEscalation, parseStrategyModel, TokenBudget, withReasoning } from '../../src/reasoning/index.js';

interface Scripted extends ChatModel {
  requests: ChatRequest[];
  contexts: CallContext[];
}

/**
 * A model whose answer to call k is `answer(k)`, written in `length` completion tokens (cut at max_tokens, which then
 * ends it with `length`); a prompt costs a token per 4 characters, as the reasoner estimates.
 */
function scripted(answer: (k: number, req: ChatRequest) => string, length = 20, extra: Partial<ChatModel> = {}): Scripted {
  const requests: ChatRequest[] = [];
  const contexts: CallContext[] = [];
  return {
    requests,
    contexts,
    models: () => [{ id: 'm', ownedBy: 'test', created: 0 }],
    async *stream() {},
    async complete(req, ctx): Promise<ChatCompletion> {
      requests.push(req);
      contexts.push(ctx);
      const k = requests.length;
      await new Promise((r) => setImmediate(r));
      const completionTokens = req.maxTokens === undefined ? length : Math.min(length, req.maxTokens);
      const finishReason: FinishReason = completionTokens < length ? 'length' : 'stop';
      const prompt = req.input.type === 'messages' ? req.input.messages.map((m) => `${m.role}: ${m.content}`).join('\n') : req.input.text;
      return {
        choices: [{ index: 0, text: `Thinking. The answer is ${answer(k, req)}.`, finishReason }],
        usage: { promptTokens: Math.ceil(prompt.length / 4), completionTokens, cachedPromptTokens: 0 },
      };
    },
    ...extra,
  };
}

const ask = (model: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model,
  input: { type: 'messages', messages: [{ role: 'user', content: 'How many apples are 3 and 4?' }] },
  stop: [],
  responseFormat: { type: 'text' },
  n: 1,
  ...extra,
});
const context = (): CallContext & { report: CallReport } => ({ signal: new AbortController().signal, requestId: 'r', report: { headers: {} } });
const config = (over: Record<string, unknown> = {}) => reasoningConfigSchema.parse(over);
type Report = {
  calls: number;
  samples: number;
  confidence: number | null;
  answer: string | null;
  escalations: { kind: string }[];
  votes: { answer: string; count: number }[] | null;
  budget: { tokens: number; used: number; exhausted: boolean };
  sample_texts?: string[];
  sources?: string[];
};
const reasoningOf = (ctx: { report: CallReport }) => ctx.report.reasoning as unknown as Report;

describe('finish reasons', () => {
  for (const prefix of ['direct', 'cot', 'plan', 'sc', 'asc']) {
    it(`${prefix}: says length when max_tokens cut the answer, as a plain call does`, async () => {
      const model = scripted(() => '7', 20);
      const reasoner = withReasoning(model, config({ confidence: 0 }));
      const cut = await complete(reasoner, ask(`${prefix}:m`, { maxTokens: 10 }), context());
      assert.equal(cut.choices[0]!.finishReason, 'length');
      const whole = await complete(reasoner, ask(`${prefix}:m`, { maxTokens: 100 }), context());
      assert.equal(whole.choices[0]!.finishReason, 'stop');
    });
  }

  it('streams the same finish reason', async () => {
    const reasoner = withReasoning(
      scripted(() => '7', 20),
      config(),
    );
    const finishes: string[] = [];
    for await (const chunk of reasoner.stream(ask('cot:m', { maxTokens: 10 }), context())) if (chunk.type === 'finish') finishes.push(chunk.reason);
    assert.deepEqual(finishes, ['length']);
  });
});

describe('token budget', () => {
  it('splits what is left between calls made together, and refuses a call it cannot pay for', () => {
    const budget = new TokenBudget(1000);
    const a = budget.grant(100, 4, undefined);
    const b = budget.grant(100, 3, undefined);
    assert.equal(a.completionTokens, 150);
    assert.equal(b.completionTokens, 150, 'the second of four gets as much as the first');
    assert.equal(budget.grant(100, 1, 40).completionTokens, 40, "the caller's max_tokens is kept when it is smaller");
    a.settle(130);
    b.settle(250);
    assert.equal(budget.used, 380);
    assert.throws(() => budget.grant(600, 1, undefined), BudgetSpent);
    assert.equal(budget.refused, true);
  });

  it("returns the best answer so far when the budget runs out, with its low confidence and finish_reason length (the README's example)", async () => {
    // Every sample a different answer, 300 tokens each: 8 samples would cost about 2,500 tokens.
    const model = scripted((k) => String(k), 300);
    const ctx = context();
    const result = await complete(
      withReasoning(model, config()),
      ask('m', { reasoning: { strategy: 'asc', maxSamples: 8, budgetTokens: 1000, confidence: 0.6 } }),
      ctx,
    );
    const r = reasoningOf(ctx);
    assert.match(result.choices[0]!.text, /The answer is \d+/);
    assert.equal(result.choices[0]!.finishReason, 'length');
    assert.ok(r.answer !== null, 'an answer is given');
    assert.ok(r.confidence! < 0.6, `low confidence ${r.confidence}`);
    assert.equal(r.budget.exhausted, true);
    const total = result.usage.promptTokens + result.usage.completionTokens;
    assert.ok(total <= 1000, `spent ${total} of a 1000-token budget`);
    assert.ok(
      model.requests.every((q) => q.maxTokens !== undefined && q.maxTokens <= 1000),
      'every call is capped by the budget',
    );
  });

  it('never asks a model of unknown context for more than a 2048-token context holds', async () => {
    const model = scripted(() => '7', 20);
    await complete(withReasoning(model, config()), ask('cot:m'), context());
    assert.equal(model.requests[0]!.maxTokens, undefined, 'the 4096-token budget is not the tighter limit: the model decides');
    await complete(withReasoning(model, config()), ask('cot:m', { reasoning: { budgetTokens: 300 } }), context());
    assert.ok(model.requests[1]!.maxTokens! < 300, 'a tight budget caps the call');
  });

  it('refuses up front, having spent nothing, a budget that cannot pay for one call', async () => {
    const model = scripted(() => '7');
    await assert.rejects(
      complete(withReasoning(model, config()), ask('cot:m', { reasoning: { budgetTokens: 10 } }), context()),
      (err) => err instanceof AutoglmError && err.status === 400 && err.code === 'reasoning_budget_exhausted' && /nothing was spent/.test(err.message),
    );
    assert.equal(model.requests.length, 0);
  });

  it('applies a default budget to a request that names none (configurable)', async () => {
    const model = scripted((k) => String(k), 200);
    const ctx = context();
    const result = await complete(
      withReasoning(model, config({ budgetTokens: 900, confidence: 0.99, maxEscalations: 5 })),
      ask('sc:m', { reasoning: { samples: 16 } }),
      ctx,
    );
    const total = result.usage.promptTokens + result.usage.completionTokens;
    assert.ok(total <= 900, `spent ${total}`);
    assert.equal(reasoningOf(ctx).budget.tokens, 900);
    assert.equal(config().budgetTokens, 4096, 'the documented default');
  });

  it('keeps auto on a small model from spending dozens of calls on "What is 2+3?"', async () => {
    // A model that never gives the same answer twice: the old ladder drew 8, then 16, then 32 samples (56 calls).
    const model = scripted((k) => String(k), 150);
    const ctx = context();
    const result = await complete(
      withReasoning(model, config()),
      { ...ask('auto:m'), input: { type: 'messages', messages: [{ role: 'user', content: 'What is 2+3?' }] } },
      ctx,
    );
    assert.ok(model.requests.length <= 16, `${model.requests.length} calls`);
    assert.ok(result.usage.promptTokens + result.usage.completionTokens <= 4096, 'within the default budget');
  });
});

describe('escalation never repeats work', () => {
  it('does not draw more samples after an adaptive vote stopped by its own rule', async () => {
    // a, b, c, a: the adaptive rule stops at 4 samples with 2 votes of 4 (0.5).
    const answers = ['11', '12', '13', '11', '14', '15', '16', '17'];
    const model = scripted((k) => answers[(k - 1) % answers.length]!);
    const ctx = context();
    await complete(withReasoning(model, config({ confidence: 0.6, maxEscalations: 3 })), ask('asc:m', { reasoning: { maxSamples: 8 } }), ctx);
    const r = reasoningOf(ctx);
    assert.equal(r.confidence, 0.5);
    assert.deepEqual(r.escalations, [], 'a higher cap would stop at the same place');
    assert.equal(model.requests.length, 4);
  });

  it('continues a vote from the samples it has, and stops when more could not reach the threshold', async () => {
    const model = scripted((k) => String(k));
    const ctx = context();
    await complete(withReasoning(model, config({ confidence: 0.6, maxEscalations: 3 })), ask('sc:m', { reasoning: { samples: 4 } }), ctx);
    const seeds = model.requests.map((q) => q.seed);
    assert.equal(new Set(seeds).size, seeds.length, 'no sample drawn twice');
    // 4, then 4 more (5/8 could still reach 0.6); 16 could not (9/16).
    assert.equal(model.requests.length, 8);
    assert.deepEqual(
      reasoningOf(ctx).escalations.map((e) => e.kind),
      ['more_samples'],
    );
  });

  it('goes to the larger model when more samples cannot help', () => {
    const cascade = new Map([['small', 'large']]);
    assert.deepEqual(
      nextEscalation({ strategy: 'asc', model: 'small', confidence: 0.5, maxSamples: 8, taken: 4, leaderVotes: 2, settled: true }, 0.6, cascade, new Set()),
      { kind: 'larger_model', model: 'large' },
    );
    assert.equal(
      nextEscalation({ strategy: 'sc', model: 'large', confidence: 0.125, maxSamples: 8, taken: 8, leaderVotes: 1 }, 0.6, cascade, new Set()),
      undefined,
      '9/16 cannot reach 0.6',
    );
    assert.deepEqual(nextEscalation({ strategy: 'sc', model: 'large', confidence: 0.5, maxSamples: 8, taken: 8, leaderVotes: 4 }, 0.6, cascade, new Set()), {
      kind: 'more_samples',
      maxSamples: 16,
    });
  });
});

describe('votes', () => {
  it('gives answers and counts, clipped, and the sample texts only when asked', async () => {
    const long = (k: number) => `a long story number ${k} `.repeat(60);
    const model = scripted((k) => long(k), 20);
    const reasoner = withReasoning(model, config({ confidence: 0 }));
    const ctx = context();
    await complete(
      reasoner,
      { ...ask('sc:m'), input: { type: 'messages', messages: [{ role: 'user', content: 'tell me a story' }] }, reasoning: { samples: 4 } },
      ctx,
    );
    const r = reasoningOf(ctx);
    assert.ok(Array.isArray(r.votes) && r.votes.length === 4, JSON.stringify(r.votes));
    assert.ok(
      r.votes.every((v) => v.answer.length <= 80 && v.count === 1),
      'clipped answers with counts',
    );
    assert.equal(r.sample_texts, undefined);
    assert.ok(JSON.stringify(r).length < 2000, `report is ${JSON.stringify(r).length} characters`);
    const asked = context();
    await complete(
      reasoner,
      {
        ...ask('sc:m'),
        input: { type: 'messages', messages: [{ role: 'user', content: 'tell me a story' }] },
        reasoning: { samples: 4, includeSamples: true },
      },
      asked,
    );
    const texts = reasoningOf(asked).sample_texts!;
    assert.equal(texts.length, 4);
    assert.ok(
      texts.every((t) => t.length > 1000),
      'whole texts on request',
    );
  });
});

describe("the cache's word on a reasoned answer", () => {
  it('is hit only when no call went upstream, partial when some did', async () => {
    const model = scripted((k) => String(k % 3));
    const reasoner = withReasoning(
      withResponseCache(model, new MemoryCacheStore({ maxEntries: 100, maxBytes: 1 << 20 }), { ttlSeconds: 60 }),
      config({ confidence: 0 }),
    );
    const run = async (samples: number) => {
      const ctx = context();
      await complete(reasoner, ask('sc:m', { seed: 5, maxTokens: 50, reasoning: { samples } }), ctx);
      return ctx.report;
    };
    const first = await run(4);
    assert.equal(first.headers['x-autoglm-cache'], 'miss');
    const upstreamBefore = model.requests.length;
    const more = await run(8);
    assert.equal(model.requests.length - upstreamBefore, 4, 'four new samples went upstream');
    assert.equal(more.headers['x-autoglm-cache'], 'partial');
    assert.equal(more.headers['x-autoglm-cache-hits'], '4/8');
    assert.equal(more.cache, 'partial', 'the ledger does not count it as free');
    const again = await run(8);
    assert.equal(again.headers['x-autoglm-cache'], 'hit');
    assert.equal(again.headers['x-autoglm-cache-hits'], '8/8');
  });
});

describe('what the layers below report', () => {
  it('reaches the request: the replica and model version that answered, and their headers', async () => {
    const model = scripted(() => '7');
    const reporting: ChatModel = {
      ...model,
      complete(req, ctx) {
        Object.assign(ctx.report!, { replica: `replica-${model.requests.length % 2}`, model: 'm@v2' });
        ctx.report!.headers['x-ratelimit-remaining-requests'] = '9';
        return model.complete!(req, ctx);
      },
    };
    const ctx = context();
    await complete(withReasoning(reporting, config({ confidence: 0 })), ask('sc:m', { reasoning: { samples: 3 } }), ctx);
    assert.match(ctx.report.replica!, /^replica-[01]$/);
    assert.equal(ctx.report.model, 'm@v2');
    assert.equal(ctx.report.headers['x-ratelimit-remaining-requests'], '9');
    assert.equal(ctx.report.headers['x-autoglm-reasoning-calls'], '3');
  });
});

describe('cancellation', () => {
  it("puts one listener on the request's signal however many samples run, and each call gets its own", async () => {
    const controller = new AbortController();
    let most = 0;
    const model = scripted((k) => String(k));
    const counting: ChatModel = {
      ...model,
      complete(req, ctx) {
        most = Math.max(most, getEventListeners(controller.signal, 'abort').length);
        return model.complete!(req, ctx);
      },
    };
    await complete(withReasoning(counting, config({ confidence: 0 })), ask('sc:m', { reasoning: { samples: 16 } }), {
      signal: controller.signal,
      requestId: 'r',
    });
    assert.equal(most, 1);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'removed when the request ends');
    assert.equal(new Set(model.contexts.map((c) => c.signal)).size, 16);
  });

  it('aborts every running sample when the request is aborted', async () => {
    const controller = new AbortController();
    const started: AbortSignal[] = [];
    const hanging: ChatModel = {
      models: () => [{ id: 'm', ownedBy: 'test', created: 0 }],
      async *stream() {},
      complete: (_req, ctx) =>
        new Promise((_, reject) => {
          started.push(ctx.signal);
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
          if (started.length === 4) controller.abort(new Error('client went away'));
        }),
    };
    await assert.rejects(
      complete(withReasoning(hanging, config()), ask('sc:m', { reasoning: { samples: 4 } }), { signal: controller.signal, requestId: 'r' }),
      /client went away/,
    );
    assert.ok(
      started.every((s) => s.aborted),
      'every sample was aborted',
    );
  });
});

describe('rag fitted to the context', () => {
  const passages = Array.from({ length: 4 }, (_, i) => ({ source: `doc${i}.md`, text: `passage ${i} `.repeat(100).trim(), score: 1 }));
  const retriever = { size: 4, search: async (_q: string, k: number) => passages.slice(0, k) };
  /** A model with a 512-token context that counts a token per 2 characters, and refuses a prompt that does not fit. */
  function smallContext() {
    const count = (req: ChatRequest) =>
      Math.ceil((req.input.type === 'messages' ? req.input.messages.map((m) => m.content).join('\n') : req.input.text).length / 2);
    const model = scripted(() => 'Canberra', 20, {
      models: () => [{ id: 'm', ownedBy: 'test', created: 0, contextSize: 512 }],
      countTokens: count,
    });
    const inner = model.complete!.bind(model);
    model.complete = async (req, ctx) => {
      if (count(req) + (req.maxTokens ?? 1) > 512)
        throw new AutoglmError(400, 'invalid_request_error', 'context_length_exceeded', `your messages resulted in ${count(req)} tokens`, 'messages');
      return inner(req, ctx);
    };
    return { model, count };
  }

  it('puts in the passages that fit with the question and max_tokens, cutting the last one', async () => {
    const { model, count } = smallContext();
    const ctx = context();
    const result = await complete(withReasoning(model, config({ retrieval: { index: 'unused', topK: 4 } }), retriever), ask('rag:m', { maxTokens: 64 }), ctx);
    assert.match(result.choices[0]!.text, /Canberra/);
    const sent = model.requests[0]!;
    assert.ok(count(sent) + 64 <= 512, `prompt of ${count(sent)} tokens`);
    assert.match((sent.input as { messages: { content: string }[] }).messages[0]!.content, /\[1\] \(doc0\.md\)/);
    assert.deepEqual(reasoningOf(ctx).sources, ['doc0.md'], 'the best passage, cut to what fits');
    assert.equal((reasoningOf(ctx) as unknown as { passages_cut: boolean }).passages_cut, true);
  });

  it('keeps every passage when the context size is unknown', async () => {
    const got = await fitPassages(passages, async () => undefined);
    assert.equal(got.passages.length, 4);
    const some = await fitPassages(passages, async (chosen) => 1000 - chosen.reduce((a, p) => a + p.text.length, 0));
    assert.equal(some.passages.length, 1);
    assert.equal(some.cut, true);
  });
});

describe('strategy specs', () => {
  it('reads sc@8:model as the eval command line reads sc@8', () => {
    assert.deepEqual(parseStrategyModel('sc@8:glm-4'), { spec: { strategy: 'sc', options: { strategy: 'sc', samples: 8 } }, model: 'glm-4' });
    assert.deepEqual(parseStrategyModel('asc@16:glm-4').spec?.options, { strategy: 'asc', maxSamples: 16 });
    assert.deepEqual(evalSpec('sc@8').options, { strategy: 'sc', samples: 8, confidence: 0 });
    assert.deepEqual(parseStrategyModel('llama3:8b'), { model: 'llama3:8b' }, 'a model name with a colon');
    assert.deepEqual(parseStrategyModel('magic:glm-4'), { model: 'magic:glm-4', prefix: 'magic' });
    assert.throws(
      () => parseStrategyModel('sc@0:glm-4'),
      (err) => err instanceof AutoglmError && err.status === 400,
    );
    assert.throws(() => evalSpec('magic'), /unknown strategy 'magic'/);
  });

  it("runs sc@8:m with 8 samples, and answers magic:m with unknown strategy 'magic'", async () => {
    const model = scripted(() => '7');
    const reasoner = withReasoning(model, config({ confidence: 0 }));
    await complete(reasoner, ask('sc@8:m'), context());
    assert.equal(model.requests.length, 8);
    await assert.rejects(
      complete(reasoner, ask('magic:m'), context()),
      (err) => err instanceof AutoglmError && err.status === 400 && /unknown strategy 'magic'/.test(err.message),
    );
  });
});
