// Speculative decoding on the embedded engine: at temperature 0 the answer is the one the model writes alone, whole
// and streamed, with prompt lookup or a draft model, one request at a time or several decoded together.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { parseGatewayConfig } from '../../src/config/index.js';
import { ModelEngine } from '../../src/engines/llama/index.js';
import { serveGateway } from '../../src/server/index.js';
import { modelMirror, openaiClient, startServer, storiesPath, testPaths } from '../support/server.js';

const tinyRandom = resolve(modelMirror, 'llama-2-tiny-random.gguf');
const passage = 'Once upon a time, there was a little girl named Lily. She loved to play in the park with her dog Max.';
const PROMPTS = [
  'Once upon a time',
  `Repeat this passage: ${passage}\nThe passage again: ${passage}\nThe passage again:`,
  `${passage} ${passage} ${passage}`,
  'Tom had a red ball. He',
];
const greedy = { temperature: 0, maxTokens: 48 };

async function answers(engine: ModelEngine, prompts: readonly string[]): Promise<{ whole: string[]; streamed: string[] }> {
  const whole: string[] = [];
  const streamed: string[] = [];
  for (const p of prompts) {
    whole.push(await engine.generate(p, greedy));
    let text = '';
    for await (const piece of engine.stream(p, greedy)) text += piece;
    streamed.push(text);
  }
  return { whole, streamed };
}

for (const model of ['stories260K', tinyRandom]) {
  describe(`speculative decoding on ${model === tinyRandom ? 'llama-2-tiny-random' : model}`, () => {
    const echoes = model === 'stories260K';
    let plain: ModelEngine;
    let reference: { whole: string[]; streamed: string[] };
    before(async () => {
      plain = await ModelEngine.load({ model, threads: 1, parallel: 2 }, testPaths());
      reference = await answers(plain, PROMPTS);
    });
    after(() => plain?.dispose());

    it('writes the model’s own text without speculation (the reference is not empty)', () => {
      assert.ok(
        reference.whole.every((t) => t.length > 0),
        `every reference answer has text: ${JSON.stringify(reference.whole)}`,
      );
      assert.deepEqual(reference.streamed, reference.whole, 'streamed and whole agree without speculation');
    });

    for (const mode of ['lookup', 'draft'] as const) {
      it(`gives the same answers with ${mode}, whole and streamed, and its guesses are checked`, async () => {
        const engine = await ModelEngine.load(
          { model, threads: 1, parallel: 2, speculative: { mode, draftModel: mode === 'draft' ? model : undefined, draftTokens: 6 } },
          testPaths(),
        );
        try {
          assert.match(engine.engine.description.effective.speculative, new RegExp(`^${mode}`), 'the engine reports its mode');
          const got = await answers(engine, PROMPTS);
          assert.deepEqual(got.whole, reference.whole, `whole answers with ${mode}`);
          assert.deepEqual(got.streamed, reference.whole, `streamed answers with ${mode}`);
          const stats = engine.engine.stats;
          // stories260K echoes its prompt, so guesses come true; random weights guess too (lookup), but rarely right.
          if (echoes) assert.ok(stats.predictedValidated > 0, `some guesses were confirmed: ${JSON.stringify(stats)}`);
          else if (mode === 'lookup') assert.ok(stats.predictedRefuted + stats.predictedValidated > 0, `guesses were checked: ${JSON.stringify(stats)}`);
        } finally {
          await engine.dispose();
        }
      });
    }

    for (const mode of ['lookup', 'draft'] as const) {
      // Several sequences at once, as a loaded server runs them: each answer is still the model's own (run a few
      // rounds: sequences whose guesses share a batch went wrong only now and then).
      it(`gives the same answers with ${mode} when requests are decoded together`, async () => {
        const engine = await ModelEngine.load(
          { model, threads: 1, parallel: 4, speculative: { mode, draftModel: mode === 'draft' ? model : undefined } },
          testPaths(),
        );
        try {
          for (let round = 0; round < 3; round++) {
            const together = await Promise.all(PROMPTS.map((p) => engine.generate(p, greedy)));
            assert.deepEqual(together, reference.whole, `answers decoded together, round ${round + 1}`);
          }
          const { predictedValidated, predictedRefuted } = engine.engine.stats;
          if (echoes || mode === 'lookup') {
            assert.ok(
              (echoes ? predictedValidated : predictedValidated + predictedRefuted) > 0,
              `guesses were made and checked: ${predictedValidated}/${predictedRefuted}`,
            );
          }
        } finally {
          await engine.dispose();
        }
      });
    }
  });
}

describe('draft models', () => {
  it('refuses, at load, a draft model whose vocabulary differs, in one line', async () => {
    await assert.rejects(
      ModelEngine.load({ model: 'stories260K', threads: 1, parallel: 1, speculative: { mode: 'draft', draftModel: tinyRandom } }, testPaths()),
      (err: Error) => {
        assert.match(err.message, /does not share the vocabulary/, err.message);
        assert.match(err.message, /512 vs 32000 tokens/, err.message);
        assert.doesNotMatch(err.message, /\n/, 'one line');
        return true;
      },
    );
  });
});

describe('served with prompt lookup', () => {
  it('gives the same text with log probabilities asked for, one per token', async () => {
    const server = await startServer({ parallel: 1, speculative: { mode: 'lookup' } });
    try {
      const client = openaiClient(server);
      // No chat template: the model continues the rendered prompt, which carries the passage twice.
      const messages = [{ role: 'user' as const, content: `${passage} ${passage}` }];
      const plain = await client.chat.completions.create({ model: 'stories260K', messages, max_tokens: 32, temperature: 0 });
      const withLogprobs = await client.chat.completions.create({
        model: 'stories260K',
        messages,
        max_tokens: 32,
        temperature: 0,
        logprobs: true,
        top_logprobs: 2,
      });
      assert.equal(withLogprobs.choices[0]!.message.content, plain.choices[0]!.message.content, 'the same text');
      const content = withLogprobs.choices[0]!.logprobs?.content ?? [];
      assert.equal(content.length, withLogprobs.usage?.completion_tokens, 'one log probability per token');
      assert.ok(
        content.every((t) => t.top_logprobs.length === 2),
        'two alternatives for each token',
      );
    } finally {
      await server.close();
    }
  });
});

describe('/metrics', () => {
  it('counts the guesses confirmed and refuted per model after a lookup-heavy request', async () => {
    const server = await startServer({ parallel: 1, speculative: { mode: 'lookup' } });
    try {
      const client = openaiClient(server);
      await client.completions.create({ model: 'stories260K', prompt: `${passage} ${passage} ${passage}`, max_tokens: 48, temperature: 0 });
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^${name}\\{model="stories260K"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 'NaN');
      const validated = value('autoglm_predicted_tokens_validated_total');
      const refuted = value('autoglm_predicted_tokens_refuted_total');
      assert.ok(validated > 0, `validated guesses counted: ${validated}`);
      assert.ok(refuted >= 0, `refuted guesses reported: ${refuted}`);
    } finally {
      await server.close();
    }
  });
});

describe('a gateway llama replica', () => {
  it('takes speculative decoding from its config, and /metrics counts its guesses', async () => {
    const yaml = [
      'models:',
      '  story:',
      `    replicas: [{ type: llama, model: "${storiesPath}", threads: 1, parallel: 1, flashAttention: off, speculative: { mode: lookup, draftTokens: 4 } }]`,
    ].join('\n');
    const gateway = await serveGateway(parseGatewayConfig(yaml), { serverOverrides: { port: 0 } });
    try {
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
      await client.completions.create({ model: 'story', prompt: `${passage} ${passage} ${passage}`, max_tokens: 48, temperature: 0 });
      const text = await (await fetch(`${gateway.url}/metrics`)).text();
      const validated = Number(/^autoglm_predicted_tokens_validated_total\{model="story[^"]*"\} (\d+)/m.exec(text)?.[1] ?? 'NaN');
      assert.ok(validated > 0, `the replica's confirmed guesses are counted: ${validated}`);
    } finally {
      await gateway.close();
    }
  });
});
