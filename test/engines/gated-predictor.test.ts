// Prompt lookup's gate: guesses stay long while the model repeats its prompt, shrink to one token after a miss, and
// pause while they keep missing, so output that does not echo pays for few refuted tokens.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputLookupTokenPredictor, type Token, type TokenPredictor } from 'node-llama-cpp';
import { GatedPredictor } from '../../src/engines/llama/gated-predictor.js';

const MAX = 8;
const passage: Token[] = Array.from({ length: 64 }, (_, i) => (100 + i) as Token);

const lookup = () => new InputLookupTokenPredictor({ patternLength: { min: 2 }, predictionLength: { min: 1, max: MAX } });

/**
 * Drives a predictor as node-llama-cpp does: at each step it guesses, the model writes the guessed tokens it agrees
 * with plus one of its own, and every written token is pushed. Returns the length of each step's guess.
 */
function generate(predictor: TokenPredictor, prompt: Token[], model: (position: number) => Token, count: number): number[] {
  predictor.updateInputTokens(prompt);
  void predictor.reset({ stateTokens: prompt.slice(), evaluateOptions: {}, targetSequence: undefined as never });
  const lengths: number[] = [];
  let written = 0;
  while (written < count) {
    const guess = predictor.predictTokens() as Token[];
    lengths.push(guess.length);
    let agreed = 0;
    while (agreed < guess.length && guess[agreed] === model(written + agreed)) agreed++;
    for (let i = 0; i <= agreed && written < count; i++) predictor.pushTokens([model(written++)]);
  }
  return lengths;
}

describe('prompt lookup behind its gate', () => {
  it('keeps guessing whole runs while the model repeats the prompt', () => {
    // The prompt is the passage, then its first two tokens again: the model goes on repeating it.
    const prompt = [...passage, passage[0]!, passage[1]!];
    const lengths = generate(new GatedPredictor(lookup(), MAX), prompt, (i) => passage[i + 2]!, 54);
    assert.ok(
      lengths.slice(0, 5).every((n) => n === MAX),
      `full-length guesses: ${lengths}`,
    );
    assert.ok(lengths.length <= Math.ceil(54 / (MAX + 1)) + 1, `about one step per ${MAX + 1} tokens: ${lengths.length} steps`);
  });

  it('guesses one token after a miss, and doubles the guess each time it is confirmed whole', () => {
    const prompt = [...passage, passage[0]!, passage[1]!];
    // The model departs from the passage once (at its 3rd token), then repeats it again from where it departed.
    const model = (i: number) => (i === 2 ? (7 as Token) : passage[i + 2]!);
    const lengths = generate(new GatedPredictor(lookup(), MAX), prompt, model, 40).filter((n) => n > 0);
    assert.equal(lengths[0], MAX, `the first guess is full length: ${lengths}`);
    assert.deepEqual(lengths.slice(1, 4), [3, 6, MAX], `after a miss at its 3rd token, 3 (the 2 it got right and one more), then doubled: ${lengths}`);
  });

  it('pauses guessing while guesses keep missing, so output that does not echo checks few guessed tokens', () => {
    const prompt = [...passage, ...passage];
    // The model writes the passage's first two tokens, then one of its own, over and over: each pair is a match for
    // lookup to guess from, and the guess is wrong at once.
    const model = (i: number) => (i % 3 === 2 ? ((900 + i) as Token) : passage[i % 3]!);
    const count = 256;
    const gated = generate(new GatedPredictor(lookup(), MAX), prompt, model, count);
    const ungated = generate(lookup(), prompt, model, count);
    const guessed = (lengths: number[]) => lengths.reduce((a, b) => a + b, 0);
    assert.ok(guessed(ungated) >= count / 2, `without the gate, lookup guesses after every pair: ${guessed(ungated)} tokens`);
    assert.ok(guessed(gated) <= 24, `behind the gate it guesses few tokens: ${guessed(gated)} (${gated.filter((n) => n).join(',')})`);
    assert.ok(
      gated.slice(-64).some((n) => n > 0),
      'it still tries now and then, so a later echo would be found',
    );
  });
});
