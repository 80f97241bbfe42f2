// Token text as a client sees it: each piece decoded in the context of the text before it, characters kept whole.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getLlama, type LlamaModel, type Token } from 'node-llama-cpp';
import { TokenTextDecoder } from '../../src/engines/llama/token-text.js';
import { LogprobReader } from '../../src/engines/llama/token-logprobs.js';
import { modelMirror } from '../support/server.js';

/** The tokens `whole` adds after `prompt`, as the model would have generated them. */
function continuation(model: LlamaModel, prompt: string, whole: string): { context: Token[]; generated: Token[] } {
  const context = model.tokenize(prompt);
  const all = model.tokenize(whole);
  assert.deepEqual(all.slice(0, context.length), context, 'the prompt tokenizes the same inside the longer text');
  return { context, generated: all.slice(context.length) };
}

const pieces = (decoder: TokenTextDecoder, tokens: readonly Token[]) => tokens.map((t) => decoder.push(t));

for (const file of ['stories260K.gguf', 'llama-2-tiny-random.gguf']) {
  describe(`token text on ${file}`, () => {
    let model: LlamaModel;
    before(async () => {
      const llama = await getLlama({ gpu: false, build: 'never', progressLogs: false });
      model = await llama.loadModel({ modelPath: join(modelMirror, file) });
    });
    after(() => model.dispose());

    it('the first generated word keeps the space that separates it from the prompt', () => {
      const { context, generated } = continuation(model, 'Once upon a time, there was a', 'Once upon a time, there was a little girl');
      const text = pieces(new TokenTextDecoder(model, context), generated);
      assert.equal(text.join(''), ' little girl');
      assert.ok(text[0]!.startsWith(' '), `the first piece starts with a space: ${JSON.stringify(text[0])}`);
    });

    it('text that starts the document has no invented leading space', () => {
      const bos = model.tokens.bos;
      const generated = model.tokenize('The dog');
      const text = pieces(new TokenTextDecoder(model, bos === null ? [] : [bos]), generated).join('');
      assert.equal(text, 'The dog');
    });

    it('multi-byte characters split across byte tokens come out whole, never as replacement characters', () => {
      const target = 'héllo 世界 🙂 done';
      const { context, generated } = continuation(model, 'It said', `It said ${target}`);
      const text = pieces(new TokenTextDecoder(model, context), generated);
      assert.equal(text.join(''), ` ${target}`);
      for (const piece of text) assert.ok(!piece.includes('\uFFFD'), `no piece holds half a character: ${JSON.stringify(text)}`);
    });

    it("a token's log-probability text keeps its leading space too", () => {
      const { context, generated } = continuation(model, 'Once upon a time, there was a', 'Once upon a time, there was a little');
      const reader = new LogprobReader(model, 0, context);
      const first = reader.read({ token: generated[0]!, confidence: 0.5 });
      assert.ok(first.token.startsWith(' '), `the first token's text starts with a space: ${JSON.stringify(first.token)}`);
    });
  });
}
