// The embedded engine: a GGUF model run in-process by node-llama-cpp, as a ChatModel with parallel sequences.
import {
  GgmlType,
  LlamaGrammarEvaluationState,
  type ChatWrapper,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import { LRUCache } from 'lru-cache';
import {
  AutoglmError,
  hasImages,
  imagesUnsupported,
  invalidRequest,
  modelNotFound,
  ModelUnavailableError,
  type CallContext,
  type ChatChunk,
  type ChatModel,
  type ChatRequest,
  emptyUsage,
  type FinishReason,
  type ModelInfo,
  type TokenLogprob,
} from '../../core/index.js';
import { modelPathsFromEnv, type EngineSettings, type EngineSettingsInput, type ModelPaths } from '../../config/index.js';
import { BoundedPool } from '../../scheduler/index.js';
import { chatWrapperFor, renderChat, renderText, type RenderedPrompt } from './chat-template.js';
import { loadModelFile } from './model-file-load.js';
import { pickByLongestPrefix, reusableTokens } from './prefix-reuse.js';
import { StopBuffer } from './stop-buffer.js';
import { AnswerCheck, jsonSchemaGrammar } from './structured-output.js';
import { LogprobReader, type SampledToken } from './token-logprobs.js';
import { TokenTextDecoder } from './token-text.js';
import { DecodeSteps, TokenPump } from './decode-steps.js';
import { ToolPlan } from './tool-calls.js';
import { LlamaEmbedder } from './llama-embedder.js';
import { Speculation } from './speculation.js';
import { Utf8Guard, type Utf8Reader } from './utf8-guard.js';

/** A schema's cache key; one too deep to serialize is too deep to check or to build a grammar for. */
function schemaKey(schema: Record<string, unknown>): string {
  try {
    return JSON.stringify(schema);
  } catch {
    throw invalidRequest('response_format.json_schema.schema is nested too deeply to be checked', 'response_format.json_schema.schema');
  }
}

/** What a structured request generates under: the grammar's state, its stop strings, and the check of the answer. */
interface GrammarState {
  state: LlamaGrammarEvaluationState;
  stops: string[];
  trimEnd: boolean;
  check: Pick<AnswerCheck, 'problem' | 'failure'>;
}

interface Slot {
  readonly id: number;
  readonly sequence: LlamaContextSequence;
  readonly cachedTokens: readonly Token[];
}

export interface EngineStats {
  parallel: number;
  busySequences: number;
  queueDepth: number;
  /** Tokens guessed by speculative decoding that the model confirmed, and those it refuted, since the model loaded. */
  predictedValidated: number;
  predictedRefuted: number;
}

/** The settings as llama.cpp applied them, which may differ from those asked for ('auto' resolved). */
export interface EffectiveSettings {
  gpuLayers: number;
  /** auto: llama.cpp decides when it makes the context, and does not say. */
  flashAttention: 'on' | 'off' | 'auto';
  kvCacheKeyType: string;
  kvCacheValueType: string;
  batchSize: number;
  mmap: boolean;
  mlock: boolean;
  speculative: string;
}

export interface LoadedModelDescription {
  name: string;
  path: string;
  contextSize: number;
  settings: EngineSettings;
  gpu: string;
  effective: EffectiveSettings;
  /** Settings honoured otherwise than asked, one line each, for the start-up banner. */
  warnings: string[];
}

/** The evaluation's tokens, each read into the UTF-8 reader as it is sampled (the pump reads ahead of the answer). */
async function* followingBytes<T>(evaluation: AsyncGenerator<T, void>, utf8: Utf8Reader, tokenOf: (step: T) => Token): AsyncGenerator<T, void> {
  for await (const step of evaluation) {
    utf8.push(tokenOf(step));
    yield step;
  }
}

/** Our lower-case KV-cache type names as node-llama-cpp's GgmlType keys. */
const ggmlType = (name: string) => name.toUpperCase() as keyof typeof GgmlType;
const ggmlName = (type: GgmlType) => (GgmlType[type] ?? String(type)).toLowerCase();

/** OpenAI's default sampling, so unchanged clients see the behaviour they expect. */
const DEFAULT_TEMPERATURE = 1;
/** How many recent tokens frequency and presence penalties look at (llama.cpp server's default). */
const PENALTY_WINDOW = 64;

export class LlamaEngine implements ChatModel {
  private readonly grammars = new LRUCache<string, Promise<{ grammar: LlamaGrammar; check: AnswerCheck }>>({ max: 64 });
  /** Tool grammars by their tools, choice and parallelism: agents send the same tools with every turn. */
  private readonly toolPlans = new LRUCache<string, Promise<ToolPlan>>({ max: 64 });
  private readonly steps: DecodeSteps;
  private readonly created = Math.floor(Date.now() / 1000);

  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly slots: readonly Slot[],
    private readonly pool: BoundedPool<Slot, readonly Token[]>,
    private readonly chatWrapper: ChatWrapper,
    private readonly speculation: Speculation,
    readonly description: LoadedModelDescription,
  ) {
    this.steps = new DecodeSteps(speculation.mode !== 'off');
  }

  /** Resolves, optionally quantizes, and loads a model. Fails with a one-line ModelUnavailableError. */
  static async load(input: EngineSettingsInput = {}, paths: ModelPaths = modelPathsFromEnv()): Promise<LlamaEngine> {
    const loaded = await loadModelFile(input, paths);
    const { settings, llama, model, path, name, warnings } = loaded;
    let speculation: Speculation;
    try {
      speculation = await Speculation.load(loaded, paths);
    } catch (err) {
      await model.dispose();
      throw err;
    }
    let context: LlamaContext;
    try {
      context = await model.createContext({
        sequences: settings.parallel,
        contextSize: settings.contextSize,
        threads: settings.threads,
        batchSize: settings.batchSize,
        flashAttention: settings.flashAttention === 'auto' ? 'auto' : settings.flashAttention === 'on',
        // Left to node-llama-cpp's default unless asked: the option is marked experimental there.
        experimentalKvCacheKeyType: settings.kvCacheKeyType === 'f16' ? undefined : ggmlType(settings.kvCacheKeyType),
        experimentalKvCacheValueType: settings.kvCacheValueType === 'f16' ? undefined : ggmlType(settings.kvCacheValueType),
      });
    } catch (err) {
      // A model whose context does not fit is freed, or every failed load on demand would keep its weights.
      await speculation.dispose();
      await model.dispose();
      const quantized = [settings.kvCacheKeyType, settings.kvCacheValueType].some((t) => !['f32', 'f16', 'bf16'].includes(t));
      const hint = quantized
        ? ' (a quantized KV cache needs flash attention and attention heads a multiple of its block wide: try --kv-cache-key-type f16)'
        : '';
      throw new ModelUnavailableError(`cannot make a context for ${path}: ${(err as Error).message.split('\n')[0]}${hint}`);
    }
    const slots: Slot[] = Array.from({ length: settings.parallel }, (_, id) => {
      const sequence = context.getSequence({ tokenPredictor: speculation.predictor() });
      return {
        id,
        sequence,
        get cachedTokens() {
          return sequence.contextTokens;
        },
      };
    });
    const pool = new BoundedPool<Slot, readonly Token[]>(slots, { maxQueue: settings.maxQueue, choose: pickByLongestPrefix });
    const flashAttention = settings.flashAttention === 'on' && !model.flashAttentionSupported ? 'off' : settings.flashAttention;
    if (settings.flashAttention === 'on' && !model.flashAttentionSupported) warnings.push(`flash attention is not supported by ${path}: it runs without`);
    const effective: EffectiveSettings = {
      gpuLayers: model.gpuLayers,
      flashAttention,
      kvCacheKeyType: ggmlName(context.kvCacheKeyType),
      kvCacheValueType: ggmlName(context.kvCacheValueType),
      batchSize: context.batchSize,
      mmap: model.useMmap,
      mlock: settings.mlock,
      speculative: speculation.mode === 'draft' ? `draft ${speculation.draftPath}` : speculation.mode,
    };
    const description = { name, path, contextSize: context.contextSize, settings, gpu: String(llama.gpu || 'off'), effective, warnings };
    return new LlamaEngine(llama, model, context, slots, pool, chatWrapperFor(model, settings.chatTemplate), speculation, description);
  }

  get stats(): EngineStats {
    let predictedValidated = 0;
    let predictedRefuted = 0;
    for (const slot of this.slots) {
      const p = slot.sequence.tokenPredictions;
      predictedValidated += p.validated;
      predictedRefuted += p.refuted;
    }
    return { parallel: this.pool.size, busySequences: this.pool.busy, queueDepth: this.pool.queueDepth, predictedValidated, predictedRefuted };
  }

  private embedder?: LlamaEmbedder;
  /** Embeddings from the same LlamaModel (one GGUF serves both); its context is made on the first embeddings request. */
  get embeddings(): LlamaEmbedder {
    const { name, contextSize, settings } = this.description;
    return (this.embedder ??= new LlamaEmbedder(this.model, { name, contextSize, threads: settings.threads }));
  }

  private listed?: ModelInfo[];

  models(): ModelInfo[] {
    return (this.listed ??= [{ id: this.description.name, ownedBy: 'autoglm', created: this.created, contextSize: this.description.contextSize }]);
  }

  /** The prompt's tokens as this engine renders it (template and tokenizer), for layers that fit prompts to the context. */
  countTokens(req: ChatRequest): number {
    return this.render(req).tokens.length;
  }

  async *stream(req: ChatRequest, ctx: CallContext): AsyncGenerator<ChatChunk> {
    if (req.model !== this.description.name) throw modelNotFound(req.model);
    if (req.n !== 1) throw invalidRequest('the llama engine generates one choice per call; wrap it with withChoices for n > 1', 'n');
    if (hasImages(req)) throw imagesUnsupported(req.model);
    // A call that offers tools but forbids them (tool_choice 'none') is an ordinary call: it takes the tool-free path.
    const tools = req.tools?.length && req.toolChoice !== 'none' ? await this.toolPlan(req) : undefined;
    const prompt = this.render(req);
    const maxTokens = this.completionBudget(prompt.tokens.length, req.maxTokens, req.input.type);
    const grammar = await this.grammarState(req);
    const slot = await this.pool.acquire(prompt.tokens, ctx.signal, ctx.priority);
    try {
      if (tools) yield* this.generateCalls(slot, prompt, maxTokens, req, grammar, tools, ctx.signal);
      else yield* this.generate(slot, prompt, maxTokens, req, grammar, ctx.signal);
    } finally {
      this.pool.release(slot);
    }
  }

  private async *generate(
    slot: Slot,
    prompt: RenderedPrompt,
    maxTokens: number,
    req: ChatRequest,
    grammar: GrammarState | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<ChatChunk, string | undefined> {
    const { sequence } = slot;
    const reused = reusableTokens(sequence.contextTokens, prompt.tokens);
    if (sequence.nextTokenIndex > reused) {
      await sequence.eraseContextTokenRanges([{ start: reused, end: sequence.nextTokenIndex }]);
    }
    const stops = new StopBuffer([...req.stop, ...prompt.stopTexts, ...(grammar?.stops ?? [])]);
    const decoder = new TokenTextDecoder(this.model, prompt.continues);
    let completionTokens = 0;
    let reason: FinishReason = 'length';
    let stoppedBy: string | undefined;
    /** The whole answer, kept only when it has a format to be checked against. */
    let answer = '';
    let trailing = '';
    const emit = (text: string): string => {
      if (!grammar) return text;
      if (!grammar.trimEnd) {
        answer += text;
        return text;
      }
      // JSON grammars may pad with whitespace before their stop trigger; hold whitespace until more text follows.
      const all = trailing + text;
      const body = all.trimEnd();
      trailing = all.slice(body.length);
      answer += body;
      return body;
    };
    const generated: Token[] = [];
    const penalized = Boolean(req.frequencyPenalty || req.presencePenalty);
    // Under a grammar, the answer's bytes stay valid UTF-8, or a length the grammar counted could come out longer.
    const utf8 = grammar ? Utf8Guard.of(this.model)?.reader() : undefined;
    const sampling = {
      temperature: req.temperature ?? DEFAULT_TEMPERATURE,
      topK: req.topK,
      topP: req.topP,
      minP: req.minP,
      seed: req.seed,
      grammarEvaluationState: grammar?.state,
      tokenBias: utf8?.bias,
      repeatPenalty: penalized
        ? { punishTokens: () => generated.slice(-PENALTY_WINDOW), frequencyPenalty: req.frequencyPenalty, presencePenalty: req.presencePenalty }
        : undefined,
    };
    const input = prompt.tokens.slice(reused);
    // Prompt lookup guesses from the prompt: it is told each request's prompt (a draft model ignores this).
    sequence.tokenPredictor?.updateInputTokens?.(prompt.tokens.slice());
    // Probabilities cost a copy of the distribution per token: asked of llama.cpp only when the caller wants them.
    const evaluation: AsyncGenerator<Token | SampledToken, void> = req.logprobs
      ? sequence.evaluateWithMetadata(input, { confidence: true, probabilities: req.logprobs.top > 0 }, sampling)
      : sequence.evaluate(input, sampling);
    const tokenOf = (step: Token | SampledToken): Token => (typeof step === 'number' ? step : step.token);
    const tokens = utf8 ? followingBytes(evaluation, utf8, tokenOf) : evaluation;
    const logprobs = req.logprobs && new LogprobReader(this.model, req.logprobs.top, prompt.continues);
    let pending: TokenLogprob[] = [];
    /** Text with the probabilities of the tokens it came from (stop-sequence holds can delay text by a few tokens). */
    const textDelta = (text: string): ChatChunk => {
      if (!pending.length) return { type: 'text-delta', index: 0, text };
      const logprobsOfText = pending;
      pending = [];
      return { type: 'text-delta', index: 0, text, logprobs: logprobsOfText };
    };
    const isEnd = (step: Token | SampledToken) => !req.ignoreEos && this.model.isEogToken(tokenOf(step));
    const pump = new TokenPump(tokens, this.steps, maxTokens, isEnd);
    this.steps.join(pump);
    try {
      for (;;) {
        const step = await pump.take();
        if (step === undefined) break;
        const token = tokenOf(step);
        if (signal.aborted) {
          reason = 'abort';
          break;
        }
        if (isEnd(token)) {
          reason = 'stop';
          break;
        }
        completionTokens++;
        if (penalized) generated.push(token);
        if (logprobs && typeof step !== 'number') pending.push(logprobs.read(step));
        const held = stops.push(decoder.push(token));
        const text = emit(held.emit);
        if (text) yield textDelta(text);
        if (held.stopped) {
          reason = 'stop';
          stoppedBy = held.matched;
          break;
        }
        if (completionTokens >= maxTokens) break;
      }
    } finally {
      this.steps.leave(pump);
      await pump.stop();
      await tokens.return();
    }
    const rest = emit(stops.flush());
    // Tokens of a stop sequence that was cut off are not part of the answer, and neither are their probabilities.
    if (rest) yield textDelta(rest);
    if (reason === 'abort') return undefined;
    const usage: ChatChunk = { type: 'usage', usage: { promptTokens: prompt.tokens.length, completionTokens, cachedPromptTokens: reused } };
    // A finished structured answer must keep its format. One cut by the caller's own stop string is what they asked
    // for, and one cut by max_tokens says 'length'; any other that breaks it ends in an error, not a finish: the text
    // may already be on the wire, so the error tells a streaming client not to trust it.
    const problem = grammar && reason === 'stop' && !(stoppedBy !== undefined && req.stop.includes(stoppedBy)) ? grammar.check.problem(answer) : undefined;
    if (problem !== undefined) {
      yield usage;
      yield { type: 'error', error: grammar!.check.failure(problem) };
      return undefined;
    }
    yield { type: 'finish', index: 0, reason };
    yield usage;
    return stoppedBy;
  }

  /**
   * An answer that may call tools. 'required' or a named function: the whole answer is written under the call
   * grammar. 'auto': the model writes freely, and if it starts a call (the syntax's opening, caught as a stop string)
   * the answer goes on under the call grammar from the text it wrote, in the same slot (its tokens are reused). The
   * text is read back as tool-call deltas; a finished call ends with reason 'tool_calls'.
   */
  private async *generateCalls(
    slot: Slot,
    prompt: RenderedPrompt,
    maxTokens: number,
    req: ChatRequest,
    grammar: GrammarState | undefined,
    plan: ToolPlan,
    signal: AbortSignal,
  ): AsyncGenerator<ChatChunk> {
    let used = emptyUsage();
    let callPrompt = prompt;
    let budget = maxTokens;
    if (req.toolChoice === undefined || req.toolChoice === 'auto') {
      const starts = plan.callStarts;
      const free = { ...prompt, stopTexts: [...prompt.stopTexts, ...starts] };
      let text = '';
      const held: ChatChunk[] = [];
      const run = this.generate(slot, free, maxTokens, req, grammar, signal);
      let step: IteratorResult<ChatChunk, string | undefined>;
      try {
        // Read by hand for its return value (the stop string that ended it); closed in any case, so a caller that
        // leaves early stops the evaluation before the slot is released.
        for (step = await run.next(); !step.done; step = await run.next()) {
          const chunk = step.value;
          if (chunk.type === 'text-delta') {
            text += chunk.text;
            yield chunk;
          } else if (chunk.type === 'finish' || chunk.type === 'usage') held.push(chunk);
          else yield chunk;
        }
      } finally {
        await run.return(undefined);
      }
      if (step.value === undefined || !starts.includes(step.value)) {
        yield* held;
        return;
      }
      used = (held.find((c) => c.type === 'usage') as Extract<ChatChunk, { type: 'usage' }> | undefined)?.usage ?? used;
      budget -= used.completionTokens;
      if (budget < 1) {
        yield { type: 'finish', index: 0, reason: 'length' };
        yield { type: 'usage', usage: used };
        return;
      }
      const written = text ? this.model.tokenize(text, false, 'trimLeadingSpace') : [];
      callPrompt = { tokens: [...prompt.tokens, ...written], stopTexts: prompt.stopTexts, continues: [] };
    }
    const reader = plan.reader();
    const callGrammar: GrammarState = {
      state: new LlamaGrammarEvaluationState({ model: this.model, grammar: plan.grammar }),
      stops: [],
      trimEnd: false,
      check: plan.check(),
    };
    // The evaluation ends when the grammar is complete (before any end token), which generate reports as 'length':
    // the finish is decided here from the calls read, once their usage is known.
    let finish: FinishReason | undefined;
    for await (const chunk of this.generate(slot, callPrompt, budget, { ...req, responseFormat: { type: 'text' } }, callGrammar, signal)) {
      if (chunk.type === 'text-delta') yield* reader.push(chunk.text);
      else if (chunk.type === 'finish') finish = chunk.reason;
      else if (chunk.type === 'usage') {
        const u = chunk.usage;
        const usage: ChatChunk = {
          type: 'usage',
          usage: {
            promptTokens: prompt.tokens.length,
            completionTokens: used.completionTokens + u.completionTokens,
            // The prompt was read by the first part when there was one; the second reads only the text it wrote.
            cachedPromptTokens: callPrompt === prompt ? u.cachedPromptTokens : used.cachedPromptTokens,
          },
        };
        if (finish === undefined) {
          yield usage;
          continue;
        }
        const problem = reader.problem();
        if (problem === undefined) yield { type: 'finish', index: 0, reason: 'tool_calls' };
        else if (reader.cutShort) yield { type: 'finish', index: 0, reason: finish };
        else {
          yield usage;
          yield { type: 'error', error: callGrammar.check.failure(problem) };
          return;
        }
        yield usage;
      } else yield chunk;
    }
  }

  /** The grammar and checks of the request's tools, built once for the same tools, choice and parallelism. */
  private async toolPlan(req: ChatRequest): Promise<ToolPlan> {
    const tools = req.tools!;
    const parallel = req.parallelToolCalls !== false;
    let key: string;
    try {
      key = JSON.stringify([tools, req.toolChoice ?? 'auto', parallel]);
    } catch {
      // A schema nested deeper than the stack can walk is too deep to build a grammar for or to check.
      throw invalidRequest('tools[].function.parameters is nested too deeply to be checked', 'tools');
    }
    let plan = this.toolPlans.get(key);
    if (!plan) {
      plan = ToolPlan.build(this.llama, this.chatWrapper, tools, req.toolChoice, parallel);
      this.toolPlans.set(key, plan);
    }
    try {
      return await plan;
    } catch (err) {
      this.toolPlans.delete(key);
      if (err instanceof AutoglmError) throw err;
      throw invalidRequest(`tools are not supported: ${(err as Error).message}`, 'tools');
    }
  }

  private render(req: ChatRequest): RenderedPrompt {
    return req.input.type === 'messages' ? renderChat(this.chatWrapper, this.model, req.input.messages, req.tools) : renderText(this.model, req.input.text);
  }

  /** Tokens the completion may use; a prompt that leaves no room is the caller's mistake (400), as with OpenAI. */
  private completionBudget(promptTokens: number, requested: number | undefined, kind: 'messages' | 'text'): number {
    const limit = this.description.contextSize;
    const available = limit - promptTokens;
    const param = kind === 'messages' ? 'messages' : 'prompt';
    if (available < 1) {
      throw new AutoglmError(
        400,
        'invalid_request_error',
        'context_length_exceeded',
        `This model's maximum context length is ${limit} tokens. However, your ${param} resulted in ${promptTokens} tokens. Please reduce the length of the ${param}.`,
        param,
      );
    }
    if (requested !== undefined && requested > available) {
      throw new AutoglmError(
        400,
        'invalid_request_error',
        'context_length_exceeded',
        `This model's maximum context length is ${limit} tokens. However, you requested ${promptTokens + requested} tokens (${promptTokens} in the ${param}, ${requested} in the completion). Please reduce the length of the ${param} or completion.`,
        'max_tokens',
      );
    }
    return requested ?? available;
  }

  private async grammarState(req: ChatRequest): Promise<GrammarState | undefined> {
    const format = req.responseFormat;
    if (format.type === 'text') return undefined;
    const key = format.type === 'json_object' ? 'json' : schemaKey(format.schema);
    let grammar = this.grammars.get(key);
    if (!grammar) {
      grammar =
        format.type === 'json_object'
          ? this.llama.getGrammarFor('json').then((g) => ({ grammar: g, check: AnswerCheck.json() }))
          : // The check first: a schema it refuses is a 400 before llama.cpp builds a grammar for it.
            Promise.resolve(format.schema)
              .then(AnswerCheck.schema)
              .then(async (check) => ({ grammar: await jsonSchemaGrammar(this.llama, format.schema), check }));
      this.grammars.set(key, grammar);
    }
    let resolved: { grammar: LlamaGrammar; check: AnswerCheck };
    try {
      resolved = await grammar;
    } catch (err) {
      this.grammars.delete(key);
      if (err instanceof AutoglmError) throw err;
      throw invalidRequest(`response_format.json_schema.schema is not supported: ${(err as Error).message}`, 'response_format.json_schema.schema');
    }
    const stops = resolved.grammar.stopGenerationTriggers.map((t) => (typeof t === 'string' ? t : t.toString()));
    return {
      state: new LlamaGrammarEvaluationState({ model: this.model, grammar: resolved.grammar }),
      stops,
      trimEnd: resolved.grammar.trimWhitespaceSuffix,
      check: resolved.check,
    };
  }

  /** Frees this engine's context, embeddings context and model; llama.cpp itself is shared by every engine. */
  async dispose(): Promise<void> {
    await this.embedder?.dispose();
    await this.context.dispose();
    await this.speculation.dispose();
    await this.model.dispose();
  }
}
