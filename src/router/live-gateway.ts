// The gateway as one ChatModel whose insides can be replaced while it serves: calls already running finish on the
// generation they started on, new calls go to the new one, and the old one is closed once it has drained.
import type { CallContext, ChatChunk, ChatCompletion, ChatModel, ChatRequest, ModelInfo } from '../core/index.js';
import { complete, watchStream } from '../core/index.js';

export interface Generation {
  id: number;
  model: ChatModel;
  close(): Promise<void>;
}

interface Live extends Generation {
  inflight: number;
  drained?: () => void;
}

export class LiveGateway implements ChatModel {
  private current: Live;

  constructor(first: Generation) {
    this.current = { ...first, inflight: 0 };
  }

  get generation(): number {
    return this.current.id;
  }

  models(): ModelInfo[] {
    return this.current.model.models();
  }

  /** The serving generation's count; refused (callers estimate) when its models cannot count, which a reload may change. */
  async countTokens(req: ChatRequest): Promise<number> {
    const model = this.current.model;
    if (!model.countTokens) throw new Error(`${req.model} cannot count tokens`);
    return model.countTokens(req);
  }

  private enter(): Live {
    const gen = this.current;
    gen.inflight++;
    return gen;
  }

  private leave(gen: Live): void {
    gen.inflight--;
    if (gen.inflight === 0 && gen !== this.current) gen.drained?.();
  }

  stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
    let gen: Live;
    // The generation is entered on the first read, when the call really starts, and left however it ends.
    return watchStream(
      () => {
        const entered = this.enter();
        try {
          const stream = entered.model.stream(req, ctx);
          gen = entered;
          return stream;
        } catch (err) {
          this.leave(entered);
          throw err;
        }
      },
      { ended: () => this.leave(gen) },
    );
  }

  async complete(req: ChatRequest, ctx: CallContext): Promise<ChatCompletion> {
    const gen = this.enter();
    try {
      return await complete(gen.model, req, ctx);
    } finally {
      this.leave(gen);
    }
  }

  /** Serves `next` from now on; resolves once the previous generation drained (or `drainMs` passed) and is closed. */
  async swap(next: Generation, drainMs: number): Promise<void> {
    const old = this.current;
    this.current = { ...next, inflight: 0 };
    if (old.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        timer.unref();
        old.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await old.close();
  }

  async close(): Promise<void> {
    await this.current.close();
  }
}
