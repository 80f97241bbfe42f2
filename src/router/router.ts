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

  /**
   * The prompt tokens of a request to a pool that can count them; a pool that cannot is refused (callers estimate
   * then). Absent when no pool can count.
   */
  readonly countTokens?: (req: ChatRequest) => Promise<number>;

  constructor(private readonly pools: ReadonlyMap<string, ChatModel>) {
    this.listed = [...pools.values()].flatMap((p) => p.models());
    if ([...pools.values()].some((p) => p.countTokens))
      this.countTokens = async (req) => {
        const pool = this.pool(req.model);
        if (!pool.countTokens) throw new Error(`${req.model} cannot count tokens`);
        return pool.countTokens(req);
      };
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
