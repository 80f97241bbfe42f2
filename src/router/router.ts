// The gateway's top ChatModel: a model name leads to its pool of replicas.
import { modelNotFound, type CallContext, type ChatChunk, type ChatModel, type ChatRequest, type ModelInfo } from '../core/index.js';

export class ModelRouter implements ChatModel {
  constructor(private readonly pools: ReadonlyMap<string, ChatModel>) {}

  models(): ModelInfo[] {
    return [...this.pools.values()].flatMap((p) => p.models());
  }

  stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
    const pool = this.pools.get(req.model);
    if (!pool) throw modelNotFound(req.model, [...this.pools.keys()]);
    return pool.stream(req, ctx);
  }
}
