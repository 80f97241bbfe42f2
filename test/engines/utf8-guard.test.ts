// Under a grammar, byte tokens may only spell valid UTF-8: checked against the real tokenizers' own detokenizer.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getLlama, type LlamaModel, type Token } from 'node-llama-cpp';
import { Utf8Guard } from '../../src/engines/llama/utf8-guard.js';
import { modelMirror } from '../support/server.js';

/** A small seeded generator (mulberry32), so a failing walk can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

for (const file of ['stories260K.gguf', 'llama-2-tiny-random.gguf']) {
  describe(`UTF-8 guard on ${file}`, () => {
    let model: LlamaModel;
    let byte: (value: number) => Token;
    let vocabulary: number;
    before(async () => {
      const llama = await getLlama({ gpu: false, build: 'never', progressLogs: false });
      model = await llama.loadModel({ modelPath: join(modelMirror, file) });
      const pieces = (model.fileInfo.metadata as unknown as { tokenizer: { ggml: { tokens: string[] } } }).tokenizer.ggml.tokens;
      vocabulary = pieces.length;
      byte = (value) => pieces.indexOf(`<0x${value.toString(16).toUpperCase().padStart(2, '0')}>`) as Token;
    });
    after(() => model.dispose());

    it('a lead byte must be followed by its continuation bytes, and a stray continuation byte cannot start', () => {
      const reader = Utf8Guard.of(model)!.reader();
      assert.equal(reader.allows(byte(0x80)), false, 'a continuation byte cannot start a character');
      assert.equal(reader.allows(byte(0xc0)), false, 'C0 only starts overlong forms');
      assert.equal(reader.allows(byte(0xe4)), true, 'a lead byte may start one');
      reader.push(byte(0xe4));
      assert.equal(reader.allows(model.tokenize('A', false, 'trimLeadingSpace')[0]!), false, 'after E4, plain text would break the character');
      assert.equal(reader.allows(byte(0xb8)), true, 'after E4, a continuation byte');
      reader.push(byte(0xb8));
      reader.push(byte(0xad));
      assert.equal(model.detokenize([byte(0xe4), byte(0xb8), byte(0xad)]), '中', 'the three bytes spell one character');
      assert.equal(reader.allows(model.tokenize('A', false, 'trimLeadingSpace')[0]!), true, 'after a whole character, text again');
      const surrogate = Utf8Guard.of(model)!.reader();
      surrogate.push(byte(0xed));
      assert.equal(surrogate.allows(byte(0xa0)), false, 'ED A0 would spell a surrogate, which is not UTF-8');
    });

    it('2,000 tokens drawn among those it allows, byte tokens favoured, detokenize without a replacement character', () => {
      const guard = Utf8Guard.of(model)!;
      const reader = guard.reader();
      const next = random(7);
      const walk: Token[] = [];
      let refused = 0;
      while (walk.length < 2000) {
        const token = (next() < 0.7 ? byte(Math.floor(next() * 256)) : Math.floor(next() * vocabulary)) as Token;
        if (model.getTokenAttributes(token).control || model.isEogToken(token)) continue;
        if (!reader.allows(token)) {
          refused++;
          continue;
        }
        reader.push(token);
        walk.push(token);
      }
      const text = model.detokenize(walk);
      assert.ok(refused > 100, `the walk met tokens that would break UTF-8 (${refused} refused)`);
      assert.ok(
        [...text].some((c) => c.codePointAt(0)! > 0x7ff),
        'the walk spelled characters of several bytes',
      );
      assert.equal(text.includes('\uFFFD'), false, `no replacement character in ${JSON.stringify(text.slice(0, 80))}...`);
    });
  });
}
