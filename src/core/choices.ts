// n > 1: runs n single-choice streams side by side and merges them into one stream of indexed chunks.
import type { CallContext, ChatChunk, ChatModel, ChatRequest, Usage } from './chat-model.js';
import { AbortFanOut } from './abort-fan-out.js';
import { collect, emptyUsage } from './chat-model.js';

/** Wraps a model that serves n = 1 so it serves any n; each choice gets its own seed so choices differ. */
export function withChoices(inner: ChatModel): ChatModel {
  const one = (req: ChatRequest): ChatRequest => (req.n === 1 ? req : { ...req, n: 1 });
  const innerComplete = inner.complete?.bind(inner);
  return {
    models: () => inner.models(),
    stream(req, ctx) {
      return req.n <= 1 ? inner.stream(one(req), ctx) : fanOut(inner, req, ctx);
    },
    ...(inner.countTokens && { countTokens: (req: ChatRequest) => inner.countTokens!(req) }),
    ...(innerComplete && {
      complete: (req: ChatRequest, ctx: CallContext) => (req.n <= 1 ? innerComplete(one(req), ctx) : collect(fanOut(inner, req, ctx))),
    }),
  };
}

async function* fanOut(inner: ChatModel, req: ChatRequest, ctx: CallContext): AsyncGenerator<ChatChunk> {
  // A signal per choice: one shared by n choices would carry every choice's listeners at once.
  const signals = new AbortFanOut(ctx.signal);
  const iterators = Array.from({ length: req.n }, (_, index) =>
    inner
      .stream({ ...req, n: 1, seed: req.seed === undefined ? undefined : req.seed + index }, { ...ctx, signal: signals.child().signal })
      [Symbol.asyncIterator](),
  );
  const pending = new Map(iterators.map((it, index) => [index, it.next().then((r) => ({ index, r }))]));
  const usage: Usage = emptyUsage();
  try {
    while (pending.size > 0) {
      const { index, r } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(index);
        continue;
      }
      pending.set(
        index,
        iterators[index]!.next().then((next) => ({ index, r: next })),
      );
      const chunk = r.value;
      if (chunk.type === 'usage') {
        // The prompt is the caller's once, as OpenAI counts it; completions add up across choices.
        if (index === 0) {
          usage.promptTokens = chunk.usage.promptTokens;
          usage.cachedPromptTokens = chunk.usage.cachedPromptTokens;
        }
        usage.completionTokens += chunk.usage.completionTokens;
      } else if (chunk.type === 'error') {
        yield chunk;
        return;
      } else {
        yield { ...chunk, index };
      }
    }
    yield { type: 'usage', usage };
  } finally {
    signals.close();
    signals.abortAll();
    // Choices still running are abandoned; their late failures must not surface as unhandled rejections.
    for (const next of pending.values()) next.catch(() => undefined);
    await Promise.allSettled(iterators.map((it) => it.return?.()));
  }
}
