// The gateway's top ChatModel: a model name leads to its pool of replicas.
import {
  complete,
  modelNotFound,
  type CallContext,
  type ChatChunk,
  type ChatCompletion,
  type ChatModel,
  type ChatRequest,
  type ModelInfo,
} from '../core/index.js';

export class ModelRouter implements ChatModel {
  /** One list for the router's life: the server checks names against it on every request, by identity. */
  private readonly listed: ModelInfo[];

  constructor(private readonly pools: ReadonlyMap<string, ChatModel>) {
    this.listed = [...pools.values()].flatMap((p) => p.models());
  }

  models(): ModelInfo[] {
    return this.listed;
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
