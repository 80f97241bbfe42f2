// The simulator engine: vLLM-like timing, capacity and prefix caching, with injectable faults, deterministic by seed.
import {
  AutoglmError,
  CONNECTION_DROPPED,
  fnv1a,
  fnv1aString,
  modelNotFound,
  promptTextOf,
  seededRandom,
  systemClock,
  tokenProbability,
  type CallContext,
  type ChatChunk,
  type ChatModel,
  type ChatRequest,
  type Clock,
  type ModelInfo,
  type Random,
  type TokenLogprob,
  type ToolCall,
} from '../../core/index.js';
import { faultSettingsSchema, resolveSimSettings, type FaultSettings, type ResolvedSimSettings, type SimSettingsInput } from '../../config/index.js';
import { BoundedPool } from '../../scheduler/index.js';
import { SimSolver } from './solver.js';
import { PrefixCache } from './prefix-cache.js';
import { argumentPieces, simulatedToolCall } from './sim-tools.js';
import { SimEmbedder } from './sim-embedder.js';

const WORDS = ['the', 'model', 'answer', 'is', 'a', 'small', 'story', 'about', 'cache', 'and', 'time', 'we', 'see', 'token', 'light', 'river'];

/** What an image costs a vision model's prompt: one 448-pixel tile's worth of tokens in common open VLMs. */
export const SIM_IMAGE_TOKENS = 256;

/**
 * Whitespace-separated words stand in for tokens: stable ids, so equal prefixes hit the same cache blocks. An image
 * (`<image:hash>` in the prompt text) is SIM_IMAGE_TOKENS tokens derived from its hash, so the same image is cached.
 */
export function simTokenize(text: string): number[] {
  const ids: number[] = [];
  for (const word of text.split(/\s+/)) {
    if (!word) continue;
    const id = fnv1aString(word);
    if (word.startsWith('<image:')) for (let i = 0; i < SIM_IMAGE_TOKENS; i++) ids.push(fnv1a(id, i));
    else ids.push(id);
  }
  return ids;
}

/** The simulated model draws its words uniformly: each has probability 1/16, and any 16 are equally likely alternatives. */
function uniformWordLogprob(text: string, top: number): TokenLogprob {
  const logprob = -Math.log(WORDS.length);
  const others = WORDS.map((w) => (text.startsWith(' ') ? ` ${w}` : w)).filter((w) => w !== text);
  return { ...tokenProbability(text, logprob), top: [text, ...others].slice(0, top).map((t) => tokenProbability(t, logprob)) };
}

const certainLogprob = (text: string, top: number): TokenLogprob => ({ ...tokenProbability(text, 0), top: top > 0 ? [tokenProbability(text, 0)] : [] });

/** A hung upstream: nothing happens until the caller gives up. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

export interface SimStats {
  running: number;
  waiting: number;
  maxRunning: number;
  cachedPromptTokens: number;
  promptTokens: number;
}

export class SimEngine implements ChatModel {
  readonly settings: ResolvedSimSettings;
  private faults: FaultSettings;
  private readonly slots: BoundedPool<number, unknown>;
  private readonly cache: PrefixCache;
  private readonly random: Random;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly solver?: SimSolver;
  private requests = 0;
  private promptTokens = 0;
  private cachedTokens = 0;

  constructor(
    input: SimSettingsInput = {},
    private readonly clock: Clock = systemClock,
  ) {
    this.settings = resolveSimSettings(input);
    this.faults = this.settings.faults;
    this.random = seededRandom(this.settings.seed);
    const slots = Array.from({ length: this.settings.maxRunning }, (_, i) => i);
    this.slots = new BoundedPool(slots, { maxQueue: this.settings.maxQueue, choose: (free) => free[free.length - 1]! });
    this.cache = new PrefixCache(this.settings.blockSize, this.settings.cacheBlocks);
    if (this.settings.solver) this.solver = new SimSolver(this.settings.solver);
  }

  private embedder?: SimEmbedder;
  /** Embeddings too: a hashed bag of words, so texts that share words lie close. */
  get embeddings(): SimEmbedder {
    return (this.embedder ??= new SimEmbedder(this.settings.model));
  }

  get stats(): SimStats {
    return {
      running: this.slots.busy,
      waiting: this.slots.queueDepth,
      maxRunning: this.settings.maxRunning,
      cachedPromptTokens: this.cachedTokens,
      promptTokens: this.promptTokens,
    };
  }

  get faultSettings(): FaultSettings {
    return this.faults;
  }

  /** Changes faults at run time (chaos experiments, tests). */
  setFaults(input: Partial<FaultSettings>): FaultSettings {
    this.faults = faultSettingsSchema.parse({ ...this.faults, ...input });
    return this.faults;
  }

  private listed?: ModelInfo[];

  models(): ModelInfo[] {
    return (this.listed ??= [{ id: this.settings.model, ownedBy: 'autoglm-sim', created: this.created }]);
  }

  async *stream(req: ChatRequest, ctx: CallContext): AsyncGenerator<ChatChunk> {
    if (req.model !== this.settings.model) throw modelNotFound(req.model, [this.settings.model]);
    // Each request draws from its own generator, seeded from the engine's, so concurrency does not reorder draws.
    const rng = seededRandom(req.seed ?? Math.floor(this.random.next() * 2 ** 32) + this.requests++);
    const faults = this.faults;
    if (rng.next() < faults.errorRate) {
      throw new AutoglmError(faults.errorStatus, 'server_error', 'sim_injected_error', 'Simulated upstream failure.');
    }
    if (rng.next() < faults.hangRate) await untilAborted(ctx.signal);
    const slot = await this.slots.acquire(null, ctx.signal, ctx.priority);
    try {
      yield* this.generate(req, ctx, rng, faults);
    } finally {
      this.slots.release(slot);
    }
  }

  private async *generate(req: ChatRequest, ctx: CallContext, rng: Random, faults: FaultSettings): AsyncGenerator<ChatChunk> {
    const s = this.settings;
    const prompt = simTokenize(promptTextOf(req));
    const cached = Math.min(this.cache.lookup(prompt), prompt.length);
    this.promptTokens += prompt.length;
    this.cachedTokens += cached;
    const spike = rng.next() < faults.spikeRate ? faults.spikeMs : 0;
    await this.clock.sleep(s.overheadMs + (prompt.length - cached) * s.prefillMsPerToken * this.load() + spike, ctx.signal);
    this.cache.insert(prompt);
    const limit = Math.min(req.maxTokens ?? s.outputTokens, req.ignoreEos ? Infinity : s.outputTokens);
    const dropAt = rng.next() < faults.dropRate ? Math.max(1, Math.floor(limit / 2)) : Infinity;
    const call = simulatedToolCall(req, rng);
    if (call) {
      yield* this.callTool(call, ctx, rng, prompt.length, cached);
      return;
    }
    const solved = this.solver?.answer(req, Math.floor(rng.next() * 2 ** 32));
    if (solved !== undefined) {
      yield* this.say(solved.split(' '), req, ctx, rng, prompt.length, cached);
      return;
    }
    for (let i = 0; i < limit; i++) {
      if (i > 0) await this.nextToken(rng, ctx.signal);
      if (i === dropAt) {
        yield { type: 'error', error: new AutoglmError(502, 'server_error', CONNECTION_DROPPED, 'Simulated connection drop.') };
        return;
      }
      const word = WORDS[Math.floor(rng.next() * WORDS.length)]!;
      const text = i === 0 ? word : ` ${word}`;
      yield req.logprobs
        ? { type: 'text-delta', index: 0, text, logprobs: [uniformWordLogprob(text, req.logprobs.top)] }
        : { type: 'text-delta', index: 0, text };
    }
    const reason = limit === (req.maxTokens ?? Infinity) ? 'length' : 'stop';
    yield { type: 'finish', index: 0, reason };
    yield { type: 'usage', usage: { promptTokens: prompt.length, completionTokens: limit, cachedPromptTokens: cached } };
  }

  /** How much slower everything runs with this many sequences running. */
  private load(): number {
    return 1 + this.settings.slowdownPerRunning * this.slots.busy;
  }

  /** The wait between two output tokens: inter-token latency under the current load, with jitter. */
  private async nextToken(rng: Random, signal: AbortSignal): Promise<void> {
    const s = this.settings;
    if (s.itlMs > 0) await this.clock.sleep(s.itlMs * this.load() * (1 + s.itlJitter * (2 * rng.next() - 1)), signal);
  }

  /** A tool call: its id and name first, then its arguments a piece per simulated token, as vLLM streams them. */
  private async *callTool(call: ToolCall, ctx: CallContext, rng: Random, promptTokens: number, cached: number): AsyncGenerator<ChatChunk> {
    const pieces = argumentPieces(call.arguments);
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0) await this.nextToken(rng, ctx.signal);
      yield { type: 'tool-call-delta', index: 0, call: 0, ...(i === 0 && { id: call.id, name: call.name }), arguments: pieces[i]! };
    }
    yield { type: 'finish', index: 0, reason: 'tool_calls' };
    yield { type: 'usage', usage: { promptTokens, completionTokens: pieces.length, cachedPromptTokens: cached } };
  }

  /** A scripted answer (solver mode), word by word at the simulated pace; never cut by max_tokens mid-answer. */
  private async *say(words: string[], req: ChatRequest, ctx: CallContext, rng: Random, promptTokens: number, cached: number): AsyncGenerator<ChatChunk> {
    for (let i = 0; i < words.length; i++) {
      if (i > 0) await this.nextToken(rng, ctx.signal);
      const text = i === 0 ? words[i]! : ` ${words[i]}`;
      // A scripted answer is certain: each word has log probability 0.
      yield req.logprobs ? { type: 'text-delta', index: 0, text, logprobs: [certainLogprob(text, req.logprobs.top)] } : { type: 'text-delta', index: 0, text };
    }
    yield { type: 'finish', index: 0, reason: 'stop' };
    yield { type: 'usage', usage: { promptTokens, completionTokens: words.length, cachedPromptTokens: cached } };
  }
}
