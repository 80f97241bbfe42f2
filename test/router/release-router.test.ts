// The canary's fallback on crafted versions: a canary that fails before its first chunk is answered for by stable and
// counted against the canary; one that fails after it, a client error, and a pinned version are passed on as they are.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { releaseSchema } from '../../src/config/index.js';
import {
  AutoglmError,
  collect,
  complete,
  systemClock,
  type CallContext,
  type CallReport,
  type ChatChunk,
  type ChatModel,
  type ChatRequest,
} from '../../src/core/index.js';
import { ReleaseManager, ReleaseRouter, type Outcome } from '../../src/router/index.js';

type Canary = 'throws-503' | 'error-chunk-503' | 'fails-after-text' | 'refuses-400' | 'healthy';

/** Two versions: stable always answers "stable"; the canary behaves as told. */
function versions(canary: Canary): ChatModel {
  const answer = (text: string): ChatChunk[] => [
    { type: 'text-delta', index: 0, text },
    { type: 'finish', index: 0, reason: 'stop' },
    { type: 'usage', usage: { promptTokens: 1, completionTokens: 1, cachedPromptTokens: 0 } },
  ];
  return {
    models: () => [
      { id: 'r@v1', ownedBy: 't', created: 0 },
      { id: 'r@v2', ownedBy: 't', created: 0 },
    ],
    async *stream(req: ChatRequest) {
      if (req.model === 'r@v1') return yield* answer('stable');
      switch (canary) {
        case 'throws-503':
          throw new AutoglmError(503, 'server_error', 'no_replica_available', 'no replica');
        case 'error-chunk-503':
          yield { type: 'error', error: new AutoglmError(503, 'server_error', 'upstream_error', 'upstream failed') };
          return;
        case 'fails-after-text':
          yield { type: 'text-delta', index: 0, text: 'canary' };
          yield { type: 'error', error: new AutoglmError(502, 'server_error', 'upstream_error', 'cut off') };
          return;
        case 'refuses-400':
          throw new AutoglmError(400, 'invalid_request_error', 'context_length_exceeded', 'too long');
        case 'healthy':
          return yield* answer('canary');
      }
    },
  };
}

const request = (model = 'r'): ChatRequest => ({ model, input: { type: 'text', text: 'hi' }, stop: [], responseFormat: { type: 'text' }, n: 1, stream: true });
const context = (): CallContext & { report: CallReport } => ({
  signal: new AbortController().signal,
  requestId: 't',
  sessionKey: 's',
  report: { headers: {} },
});

describe('canary fallback', () => {
  let manager: ReleaseManager | undefined;
  afterEach(() => manager?.close());

  /** A release whose canary takes every call (one step at 100%), and the outcomes its windows were told of. */
  function router(canary: Canary) {
    manager = new ReleaseManager(
      { r: releaseSchema.parse({ stable: 'v1', canary: { version: 'v2', steps: [100] } }) },
      systemClock,
      undefined,
      () => undefined,
    );
    const outcomes: [string, boolean][] = [];
    return { release: new ReleaseRouter(versions(canary), manager, (model: string, o: Outcome) => outcomes.push([model, o.ok])), outcomes };
  }

  for (const canary of ['throws-503', 'error-chunk-503'] as const) {
    it(`answers from stable when the canary fails before its first chunk (${canary}), counting it against the canary`, async () => {
      const { release, outcomes } = router(canary);
      const ctx = context();
      const result = await collect(release.stream(request(), ctx));
      assert.equal(result.choices[0]!.text, 'stable');
      assert.equal(ctx.report.model, 'r@v1', 'the response names the version that answered');
      assert.deepEqual(outcomes, [
        ['r@v2', false],
        ['r@v1', true],
      ]);
    });
  }

  it('answers a whole answer from stable too', async () => {
    const { release, outcomes } = router('throws-503');
    const ctx = context();
    const result = await complete(release, { ...request(), stream: false }, ctx);
    assert.equal(result.choices[0]!.text, 'stable');
    assert.equal(ctx.report.model, 'r@v1');
    assert.deepEqual(outcomes, [
      ['r@v2', false],
      ['r@v1', true],
    ]);
  });

  it('passes on a failure after the canary sent text: the caller already has part of its answer', async () => {
    const { release, outcomes } = router('fails-after-text');
    const chunks: ChatChunk[] = [];
    for await (const chunk of release.stream(request(), context())) chunks.push(chunk);
    assert.deepEqual(
      chunks.map((c) => c.type),
      ['text-delta', 'error'],
    );
    assert.deepEqual(outcomes, [['r@v2', false]]);
  });

  it('passes on a request the canary refused as malformed, and does not count it against the canary', async () => {
    const { release, outcomes } = router('refuses-400');
    await assert.rejects(collect(release.stream(request(), context())), (e: AutoglmError) => e.status === 400);
    assert.deepEqual(outcomes, [['r@v2', true]]);
  });

  it('never falls back for a caller who pinned the canary', async () => {
    const { release } = router('throws-503');
    await assert.rejects(collect(release.stream(request('r@v2'), context())), (e: AutoglmError) => e.status === 503);
  });

  it('leaves a healthy canary answering', async () => {
    const { release, outcomes } = router('healthy');
    const ctx = context();
    assert.equal((await collect(release.stream(request(), ctx))).choices[0]!.text, 'canary');
    assert.equal(ctx.report.model, 'r@v2');
    assert.deepEqual(outcomes, [['r@v2', true]]);
  });
});
