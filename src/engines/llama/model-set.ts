// Several embedded models in one process, as one ChatModel and one EmbeddingModel: each is loaded on its first
// request, unloaded after it has been idle for the keep-alive, and the least recently used idle one gives way when
// loading one more would break the budget. A model with requests in flight (or waiting for it) is never unloaded.
import {
  AutoglmError,
  modelNotFound,
  systemClock,
  withDimensions,
  type CallContext,
  type ChatChunk,
  type ChatModel,
  type ChatRequest,
  type Clock,
  type EmbeddingModel,
  type EmbeddingModelInfo,
  type EmbeddingRequest,
  type Embeddings,
  type ModelInfo,
  type ModelLoadState,
} from '../../core/index.js';
import type { EngineStats, LoadedModelDescription } from './llama-engine.js';
import { makeRoom, type LoadBudget, type ResidentModel } from './load-budget.js';

/** What the set loads: a LlamaEngine or an EmbeddingsOnlyEngine. */
export interface SetEngine extends ChatModel {
  readonly embeddings: EmbeddingModel;
  readonly stats: EngineStats;
  readonly description: LoadedModelDescription;
  dispose(): Promise<void>;
}

export interface SetMember {
  /** The name clients use; unique in the set. */
  name: string;
  /** What it holds in memory once loaded, for the byte budget (its file's size). */
  bytes: number;
  /** The file it loads, for people reading the listing. */
  path?: string;
  load(): Promise<SetEngine>;
}

export type UnloadReason = 'idle' | 'evicted';

export interface ModelSetOptions {
  /** Seconds an idle model stays loaded; -1 keeps it loaded. */
  keepAliveSeconds: number;
  maxLoadedModels: number;
  maxLoadedBytes?: number;
  /**
   * How long a request waits for room when every loaded model is busy and its call has no deadline of its own;
   * after it, a 503 with Retry-After.
   */
  roomWaitMs?: number;
  clock?: Clock;
  /** Told of every load and unload as it happens (metrics, gauges, logs). */
  onLoaded?(name: string, engine: SetEngine): void;
  onUnloaded?(name: string, reason: UnloadReason): void;
}

const DEFAULT_ROOM_WAIT_MS = 60_000;

/** One member and where it is: unloaded, loading, loaded, or unloading. */
class Member {
  engine?: SetEngine;
  loading?: Promise<SetEngine>;
  unloading?: Promise<void>;
  embedder?: EmbeddingModel;
  /** Requests running on it or waiting for it to load. */
  inflight = 0;
  lastUsed = Number.NEGATIVE_INFINITY;
  idleTimer?: AbortController;
  /** Listed by models(): the same objects for the set's life, their status kept current. */
  readonly info: ModelInfo;
  readonly embeddingInfo: EmbeddingModelInfo;

  constructor(readonly spec: SetMember) {
    const created = Math.floor(Date.now() / 1000);
    this.info = { id: spec.name, ownedBy: 'autoglm', created, status: 'unloaded' };
    this.embeddingInfo = { id: spec.name, ownedBy: 'autoglm', created, status: 'unloaded' };
  }

  set status(status: ModelLoadState) {
    this.info.status = this.embeddingInfo.status = status;
  }
}

export class LoadedModelSet implements ChatModel {
  private readonly members = new Map<string, Member>();
  private readonly listed: ModelInfo[];
  private readonly embeddingListed: EmbeddingModelInfo[];
  private readonly clock: Clock;
  private readonly budget: LoadBudget;
  /** Requests waiting for room, woken by any change (a request finished, a model unloaded, a load failed). */
  private waiters = new Set<() => void>();
  private closed = false;
  /** What /v1/embeddings serves: the same members, loaded on demand the same way. */
  readonly embeddings: EmbeddingModel;

  constructor(
    members: readonly SetMember[],
    private readonly options: ModelSetOptions,
  ) {
    for (const spec of members) {
      if (this.members.has(spec.name)) throw new Error(`two models are named '${spec.name}'`);
      this.members.set(spec.name, new Member(spec));
    }
    this.listed = [...this.members.values()].map((m) => m.info);
    this.embeddingListed = [...this.members.values()].map((m) => m.embeddingInfo);
    this.clock = options.clock ?? systemClock;
    this.budget = { maxModels: options.maxLoadedModels, maxBytes: options.maxLoadedBytes };
    this.embeddings = { models: () => this.embeddingListed, embed: (req, ctx) => this.embed(req, ctx) };
  }

  models(): ModelInfo[] {
    return this.listed;
  }

  /** Each member's name, state and file, in the order given. */
  states(): { model: string; status: ModelLoadState; path?: string; bytes: number }[] {
    return [...this.members.values()].map((m) => ({ model: m.spec.name, status: m.info.status ?? 'unloaded', path: m.spec.path, bytes: m.spec.bytes }));
  }

  /** Loads a member before any request asks for it (the default model at startup). */
  async preload(name: string): Promise<SetEngine> {
    return this.ready(this.member(name), { signal: new AbortController().signal, requestId: 'preload' });
  }

  async *stream(req: ChatRequest, ctx: CallContext): AsyncGenerator<ChatChunk> {
    const member = this.member(req.model);
    this.claim(member);
    try {
      const engine = await this.ready(member, ctx);
      yield* engine.stream(req, ctx);
    } finally {
      this.release(member);
    }
  }

  async countTokens(req: ChatRequest): Promise<number> {
    const member = this.member(req.model);
    this.claim(member);
    try {
      const engine = await this.ready(member, { signal: new AbortController().signal, requestId: 'count-tokens' });
      if (!engine.countTokens) throw new Error(`${req.model} cannot count tokens`);
      return await engine.countTokens(req);
    } finally {
      this.release(member);
    }
  }

  private async embed(req: EmbeddingRequest, ctx: CallContext): Promise<Embeddings> {
    const member = this.member(req.model);
    this.claim(member);
    try {
      await this.ready(member, ctx);
      return await member.embedder!.embed(req, ctx);
    } finally {
      this.release(member);
    }
  }

  /** Unloads every model; the set serves nothing after. */
  async dispose(): Promise<void> {
    this.closed = true;
    this.wake();
    const members = [...this.members.values()];
    for (const m of members) m.idleTimer?.abort();
    await Promise.all(members.map((m) => m.loading?.catch(() => undefined)));
    await Promise.all(members.map((m) => m.unloading));
    await Promise.all(members.map((m) => m.engine?.dispose()));
    for (const m of members) {
      m.engine = m.embedder = undefined;
      m.status = 'unloaded';
    }
  }

  private member(name: string): Member {
    const member = this.members.get(name);
    if (!member) throw modelNotFound(name, [...this.members.keys()]);
    return member;
  }

  /** A request holds its member from before it loads until it ends, so nothing unloads it in between. */
  private claim(m: Member): void {
    m.inflight++;
    m.lastUsed = this.clock.now();
    m.idleTimer?.abort();
    m.idleTimer = undefined;
  }

  private release(m: Member): void {
    m.inflight--;
    m.lastUsed = this.clock.now();
    if (m.inflight === 0) this.scheduleIdle(m);
    this.wake();
  }

  /** The member's engine, loading it (and making room for it) if need be; waits while it loads. */
  private async ready(m: Member, ctx: CallContext): Promise<SetEngine> {
    const waitMs = ctx.deadline !== undefined ? ctx.deadline - Date.now() : (this.options.roomWaitMs ?? DEFAULT_ROOM_WAIT_MS);
    const giveUpAt = this.clock.now() + waitMs;
    for (;;) {
      ctx.signal.throwIfAborted();
      if (this.closed) throw new AutoglmError(503, 'server_error', 'shutting_down', 'The server is shutting down; retry on another instance.', null, 1);
      if (m.engine) return m.engine;
      if (m.loading) {
        const engine = await untilAborted(m.loading, ctx.signal);
        if (!this.closed) return engine;
        continue;
      }
      if (m.unloading) {
        await untilAborted(m.unloading, ctx.signal);
        continue;
      }
      const plan = makeRoom({ bytes: m.spec.bytes }, this.residents(), this.budget);
      if ('evict' in plan) {
        this.startLoad(m, plan.evict);
        continue;
      }
      const left = giveUpAt - this.clock.now();
      if (left <= 0) throw this.noRoom(m.spec.name, waitMs);
      await this.changed(ctx.signal, left);
    }
  }

  /** Members in memory or on their way in; those on their way out no longer count. */
  private residents(): ResidentModel[] {
    return [...this.members.values()]
      .filter((m) => m.engine || m.loading)
      .map((m) => ({ name: m.spec.name, busy: m.inflight > 0 || m.loading !== undefined, lastUsed: m.lastUsed, bytes: m.spec.bytes }));
  }

  private startLoad(m: Member, evict: readonly string[]): void {
    const making = evict.map((name) => this.unload(this.members.get(name)!, 'evicted'));
    m.status = 'loading';
    const loading = Promise.all(making)
      .then(() => m.spec.load())
      .catch((err: unknown) => {
        throw err instanceof AutoglmError ? err : loadFailed(m.spec.name, err);
      });
    m.loading = loading;
    loading.then(
      (engine) => {
        m.loading = undefined;
        m.engine = engine;
        // Loaded as the set closes: dispose() frees it, having waited for this load.
        if (this.closed) return;
        m.embedder = withDimensions(engine.embeddings);
        m.status = 'loaded';
        // What only the loaded model knows is kept for the listing after it unloads.
        const chat = engine.models()[0];
        if (chat?.contextSize !== undefined) m.info.contextSize = chat.contextSize;
        const { id: _id, created: _created, status: _status, ...embedding } = engine.embeddings.models()[0] ?? {};
        Object.assign(m.embeddingInfo, embedding);
        m.lastUsed = this.clock.now();
        this.options.onLoaded?.(m.spec.name, engine);
        if (m.inflight === 0) this.scheduleIdle(m);
        this.wake();
      },
      () => {
        // The requests waiting get the error; the next request tries again.
        m.loading = undefined;
        m.status = 'unloaded';
        this.wake();
      },
    );
  }

  /** Takes the engine out of service at once (nothing new reaches it) and frees it in the background. */
  private unload(m: Member, reason: UnloadReason): Promise<void> {
    const engine = m.engine;
    if (!engine) return m.unloading ?? Promise.resolve();
    m.engine = m.embedder = undefined;
    m.idleTimer?.abort();
    m.idleTimer = undefined;
    m.status = 'unloaded';
    this.options.onUnloaded?.(m.spec.name, reason);
    const unloading = engine
      .dispose()
      .catch(() => undefined)
      .finally(() => {
        if (m.unloading === unloading) m.unloading = undefined;
        this.wake();
      });
    m.unloading = unloading;
    this.wake();
    return unloading;
  }

  private scheduleIdle(m: Member): void {
    m.idleTimer?.abort();
    m.idleTimer = undefined;
    if (!m.engine || this.options.keepAliveSeconds < 0 || this.closed) return;
    const timer = new AbortController();
    m.idleTimer = timer;
    this.clock.sleep(this.options.keepAliveSeconds * 1000, timer.signal).then(
      () => {
        if (m.idleTimer !== timer) return;
        m.idleTimer = undefined;
        if (m.inflight === 0) void this.unload(m, 'idle');
      },
      () => undefined,
    );
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  /** Resolves at the next change, or after `ms`; rejects when the caller gives up. */
  private changed(signal: AbortSignal, ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = new AbortController();
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', onAbort);
        timer.abort();
        resolve();
      };
      const onAbort = () => {
        this.waiters.delete(done);
        timer.abort();
        reject(signal.reason);
      };
      this.waiters.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
      this.clock.sleep(ms, timer.signal).then(done, () => undefined);
    });
  }

  private noRoom(name: string, waitMs: number): AutoglmError {
    const bytes = this.budget.maxBytes === undefined ? '' : ` or ${this.budget.maxBytes} bytes`;
    return new AutoglmError(
      503,
      'server_error',
      'models_busy',
      `The model '${name}' is not loaded, and every loaded model is busy (at most ${this.budget.maxModels} models${bytes} in memory): none became idle within ${Math.round(waitMs / 1000)}s. Retry shortly, or raise --max-loaded-models.`,
      null,
      5,
    );
  }
}

/** A model that could not be loaded on demand: the server may manage later (memory freed, file back), so a 503. */
const loadFailed = (name: string, err: unknown) =>
  new AutoglmError(
    503,
    'server_error',
    'model_unavailable',
    `The model '${name}' could not be loaded: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`,
    null,
    5,
  );

/** The promise's value, unless the caller gives up first (the work itself goes on for the others waiting on it). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
