// Model aliases: the wrapper that resolves them, and the config that declares them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseGatewayConfig } from '../../src/config/index.js';
import type { CallContext, ChatChunk, ChatModel, ChatRequest } from '../../src/core/index.js';
import { withModelAliases } from '../../src/server/model-aliases.js';

/** A model that answers with the name it was asked for. */
const echo: ChatModel = {
  models: () => listed,
  async *stream(req: ChatRequest): AsyncGenerator<ChatChunk> {
    yield { type: 'text-delta', index: 0, text: req.model };
  },
  countTokens: (req) => req.model.length,
};
const listed = [{ id: 'glm-4', ownedBy: 'zhipu', created: 1 }];
const request = (model: string): ChatRequest => ({ model, input: { type: 'text', text: 'x' }, stop: [], responseFormat: { type: 'text' }, n: 1 });
const context = (): CallContext & { report: { headers: Record<string, string>; model?: string } } => ({
  signal: new AbortController().signal,
  requestId: 'r',
  report: { headers: {} },
});

describe('model aliases', () => {
  it('a request for an alias reaches its target, answered in the target name; other names pass as they are', async () => {
    const model = withModelAliases(echo, { 'claude-sonnet-4': 'glm-4' });
    const ctx = context();
    const chunks: ChatChunk[] = [];
    for await (const c of model.stream(request('claude-sonnet-4'), ctx)) chunks.push(c);
    assert.deepEqual(chunks, [{ type: 'text-delta', index: 0, text: 'glm-4' }]);
    assert.equal(ctx.report.model, 'glm-4');
    const plain = context();
    for await (const c of model.stream(request('glm-4'), plain)) assert.deepEqual(c, { type: 'text-delta', index: 0, text: 'glm-4' });
    assert.equal(plain.report.model, undefined);
    assert.equal(await model.countTokens!(request('claude-sonnet-4')), 'glm-4'.length);
  });

  it('aliases are listed beside their targets, one list per list of the inner model (names are checked by identity)', () => {
    const model = withModelAliases(echo, { 'claude-sonnet-4': 'glm-4', constructor: 'glm-4' });
    const first = model.models();
    assert.deepEqual(
      first.map((m) => [m.id, m.ownedBy]),
      [
        ['glm-4', 'zhipu'],
        ['claude-sonnet-4', 'zhipu'],
        ['constructor', 'zhipu'],
      ],
    );
    assert.equal(model.models(), first);
  });

  it('without aliases the model is returned as it is', () => {
    assert.equal(withModelAliases(echo, {}), echo);
    assert.equal(withModelAliases(echo, undefined), echo);
  });

  it('the config refuses an alias of nothing served, and one that shadows a model', () => {
    const models = ['models:', '  glm-4:', '    replicas: [{ type: sim }]'];
    assert.deepEqual(parseGatewayConfig([...models, 'aliases: { claude-sonnet-4: glm-4 }'].join('\n')).aliases, { 'claude-sonnet-4': 'glm-4' });
    assert.throws(
      () => parseGatewayConfig([...models, 'aliases: { claude-sonnet-4: glm-5 }'].join('\n')),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(err.message, /aliases.*claude-sonnet-4|claude-sonnet-4.*glm-5/);
        assert.match(err.message, /glm-5/);
        return true;
      },
    );
    assert.throws(() => parseGatewayConfig([...models, 'aliases: { glm-4: glm-4 }'].join('\n')), /already a model or release/);
  });
});
