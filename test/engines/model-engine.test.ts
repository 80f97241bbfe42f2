// The library API: load a model by name, generate, stream, chat, with quantization into the cache.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelEngine } from '../../src/index.js';
import { testPaths } from '../support/server.js';

describe('ModelEngine', () => {
  let engine: ModelEngine;
  before(async () => {
    engine = await ModelEngine.load({ model: 'stories260K', quantize: 'q8_0', threads: 1 }, testPaths(await mkdtemp(join(tmpdir(), 'autoglm-lib-'))));
  });
  after(() => engine.dispose());

  it('loads a quantized model under its own name', () => {
    assert.equal(engine.name, 'stories260K');
    assert.match(engine.engine.description.path, /stories260K\.q8_0\.gguf$/);
  });

  it('generates, and streaming yields the same text piece by piece', async () => {
    const whole = await engine.generate('Once upon a time', { maxTokens: 24, temperature: 0 });
    const pieces: string[] = [];
    for await (const piece of engine.stream('Once upon a time', { maxTokens: 24, temperature: 0 })) pieces.push(piece);
    assert.ok(whole.length > 10, 'whole.length > 10');
    assert.ok(pieces.length > 5, 'pieces.length > 5');
    assert.equal(pieces.join(''), whole);
  });

  it('a continuation is set apart from the prompt by its space, whole and streamed', async () => {
    const whole = await engine.generate('The dog', { maxTokens: 8, temperature: 0 });
    assert.match(whole, /^\s/, `"The dog" + ${JSON.stringify(whole)} reads as separate words`);
    let streamed = '';
    for await (const piece of engine.stream('The dog', { maxTokens: 8, temperature: 0 })) streamed += piece;
    assert.equal(streamed, whole);
  });

  it('chats with the default template', async () => {
    const answer = await engine.chat([{ role: 'user', content: 'Tell me about a dog.' }], { maxTokens: 16, seed: 3 });
    assert.ok(answer.length > 0, 'answer.length > 0');
    assert.ok(!answer.includes('<|im_end|>'), 'the template end marker is never shown');
  });
});

describe('ModelEngine chat answers', () => {
  let engine: ModelEngine;
  before(async () => {
    engine = await ModelEngine.load({ model: 'llama-2-tiny-random', threads: 1, parallel: 1 }, testPaths(await mkdtemp(join(tmpdir(), 'autoglm-lib-'))));
  });
  after(() => engine.dispose());

  it('start with their first word, not with the space SentencePiece puts before it', async () => {
    // Random weights start most answers with a word-start token ("▁word"); decoded after the template it would read " word".
    const answers: string[] = [];
    for (let seed = 1; seed <= 12; seed++) answers.push(await engine.chat([{ role: 'user', content: 'Say hello.' }], { maxTokens: 3, seed }));
    assert.ok(
      answers.every((a) => !/^\s/.test(a)),
      `no answer begins with a space: ${JSON.stringify(answers)}`,
    );
  });
});
