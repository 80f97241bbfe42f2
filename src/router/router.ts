// The gateway's top ChatModel: a model name leads to its pool of replicas.
import { complete, modelNotFound, type CallContext, type ChatChunk, type ChatCompletion, type ChatModel, type ChatRequest, type ModelInfo } from '../core/index.js';

export class ModelRouter implements ChatModel {
  constructor(private readonly pools: ReadonlyMap<string, ChatModel>) {}

  models(): ModelInfo[] {
    return [...this.pools.values()].flatMap((p) => p.models());
  }

  stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
    return this.pool(req.model).stream(req, ctx);
  }

  complete(req: ChatRequest, ctx: CallContext): Promise<ChatCompletion> {
    return complete(this.pool(req.model), req, ctx);
  }

  private pool(model: string): ChatModel {
    const pool = this.pools.get(model);
    if (!pool) throw modelNotFound(model, [...this.pools.keys()]);
    return pool;
  }
}
