// Notes in the call's report when the first token was generated, for models that only stream: their whole answers
// are gathered from the stream above them, where that moment is no longer visible.
import { isOutput, type CallContext, type ChatChunk, type ChatModel, type ChatRequest } from '../core/index.js';

export function reportsFirstToken(inner: ChatModel): ChatModel {
  // A model with its own whole-answer path (a gateway, a remote engine) reports from inside it, or cannot know.
  if (inner.complete) return inner;
  return {
    models: () => inner.models(),
    // The reasoning budget pays for each call's real prompt: the engine's count must reach it through this layer.
    ...(inner.countTokens && { countTokens: (req: ChatRequest) => inner.countTokens!(req) }),
    async *stream(req: ChatRequest, ctx: CallContext): AsyncGenerator<ChatChunk> {
      const report = ctx.report;
      for await (const chunk of inner.stream(req, ctx)) {
        if (report && report.firstTokenAt === undefined && isOutput(chunk)) report.firstTokenAt = performance.now();
        yield chunk;
      }
    },
  };
}
