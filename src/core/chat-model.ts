// The one contract every layer speaks: engines, router, cache, reasoner and tenancy are all ChatModels.
import { fnv1aString } from './hash.js';

/** A function the model asked to have called: `arguments` is JSON text, as the model wrote it. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A piece of a message's content: text, or an image by URL (https: or data:), as OpenAI's `image_url` part carries it. */
export type ContentPart = { type: 'text'; text: string } | { type: 'image'; url: string; detail?: 'auto' | 'low' | 'high' };

/** A message of a chat conversation, normalized from any wire format. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  /** The message's text (all of its text parts, when it has images). */
  content: string;
  /** The message's parts in order, set only when it carries images; engines that cannot see refuse such a message. */
  parts?: ContentPart[];
  /** The calls an assistant turn made (sent back by the caller with the calls' results). */
  toolCalls?: ToolCall[];
  /** On a `tool` message: which call this is the result of. */
  toolCallId?: string;
  /** The participant's name (OpenAI's `name`), passed on to engines that use it. */
  name?: string;
}

/** A function the caller offers the model; `parameters` is a JSON Schema. */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
  strict?: boolean;
}

/** Whether the model may, must, or must not call a tool, or which one it must call. */
export type ToolChoice = 'none' | 'auto' | 'required' | { name: string };

/** What the caller wants generated: a chat to be rendered with a template, or raw text to continue. */
export type ChatInput = { type: 'messages'; messages: ChatMessage[] } | { type: 'text'; text: string };

export type ResponseFormat = { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; name?: string; schema: Record<string, unknown> };

export const STRATEGIES = ['auto', 'direct', 'cot', 'plan', 'sc', 'asc', 'bon', 'reflect', 'rag'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** How much thinking a caller asks for (the `reasoning` body field, a `strategy:` model prefix, or server defaults). */
export interface ReasoningOptions {
  strategy?: StrategyName;
  /** Samples for self-consistency and best-of-N. */
  samples?: number;
  /** Cap for adaptive self-consistency. */
  maxSamples?: number;
  /** Tokens the strategy may spend in all, across its calls. */
  budgetTokens?: number;
  /** Below this confidence the answer is escalated (more samples, a stronger strategy, a larger model). */
  confidence?: number;
  /** Return every sample's full text in the report (left out by default: a vote's answers and counts say enough). */
  includeSamples?: boolean;
  /** A managed prompt to render around the messages: `name` or `name@version`. */
  prompt?: string;
}

/** Our own normalized request; wire formats are translated into it at the edge. */
export interface ChatRequest {
  model: string;
  input: ChatInput;
  /** Undefined means "as many as the context allows". */
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  seed?: number;
  /** OpenAI's penalties on tokens already generated, in [-2, 2]. */
  frequencyPenalty?: number;
  presencePenalty?: number;
  stop: string[];
  /** Keep generating past end-of-sequence until maxTokens (vLLM's and llama.cpp's ignore_eos), for benchmarks. */
  ignoreEos?: boolean;
  responseFormat: ResponseFormat;
  /** Number of choices; engines see n = 1, `withChoices` fans out larger values. */
  n: number;
  reasoning?: ReasoningOptions;
  /** The end user, as the OpenAI API's `user` field names them (used to keep a user on one model version). */
  user?: string;
  /** Whether the caller reads chunks as they come; when false a remote engine may ask its upstream for a whole answer. */
  stream?: boolean;
  /** Functions the model may call; engines that cannot call tools refuse a request that offers some. */
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  /** Report each generated token's log probability, and its `top` most likely alternatives (0 to 20). */
  logprobs?: { top: number };
}

/** A token and its log probability (natural log), with its UTF-8 bytes, as OpenAI's `logprobs` report them. */
export interface TokenProbability {
  token: string;
  logprob: number;
  bytes: number[];
}

/** A token's probability entry, its bytes taken from its text. */
export const tokenProbability = (token: string, logprob: number): TokenProbability => ({ token, logprob, bytes: [...Buffer.from(token, 'utf8')] });

/** A generated token's log probability and the most likely tokens at its position, most likely first. */
export interface TokenLogprob extends TokenProbability {
  top: TokenProbability[];
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens served from the KV cache instead of being evaluated again. */
  cachedPromptTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'abort' | 'error';

/** One step of a response stream. `index` is the choice index for n > 1. */
export type ChatChunk =
  /** `logprobs`, when asked for, are those of the tokens this text came from. */
  | { type: 'text-delta'; index: number; text: string; logprobs?: TokenLogprob[] }
  /**
   * A piece of tool call number `call` of a choice: its first piece carries the id and name, every piece some of the
   * arguments' text (OpenAI streams arguments the same way).
   */
  | { type: 'tool-call-delta'; index: number; call: number; id?: string; name?: string; arguments: string }
  | { type: 'finish'; index: number; reason: FinishReason }
  | { type: 'usage'; usage: Usage }
  | { type: 'error'; error: import('./errors.js').AutoglmError };

/** Facts the layers learn while serving a call, for the response headers and the usage ledger. */
export interface CallReport {
  /** Response headers to send (rate limits, cache status), set before the first byte is written. */
  headers: Record<string, string>;
  /** The replica that answered, when a router chose one. */
  replica?: string;
  /** The model version that answered, when a release name was asked for (the response's `model`, as OpenAI does). */
  model?: string;
  /** `partial` when some of a reasoned request's calls were answered from the cache and others were not. */
  cache?: 'hit' | 'miss' | 'partial';
  /**
   * When (performance.now()) the call's first token was generated, set by the first layer that saw it: a whole answer
   * has a time to first token too, though its caller sees nothing until the end.
   */
  firstTokenAt?: number;
  /** What the reasoning layer did: sent as the response's `reasoning` field. */
  reasoning?: Record<string, unknown>;
}

/** Carried with every call: cancellation, identity, priority and what the layers report back. */
export interface CallContext {
  signal: AbortSignal;
  requestId: string;
  /**
   * What the answer's id is made of (chatcmpl-<key>, resp_<key>, msg_<key>, in each dialect's style), chosen before
   * the call so that the layers that remember a request (managed prompts, for feedback) know the id its caller sees.
   */
  answerKey?: string;
  /** The caller's tenant and key, once authenticated (or the anonymous tenant when auth is off). */
  tenant?: string;
  keyId?: string;
  /** Queue priority in the engines: higher is served first; 0 when unset. */
  priority?: number;
  /** A conversation or session id (x-session-id): keeps its calls on one model version during a canary. */
  sessionKey?: string;
  /** `force` caches a non-deterministic request; `bypass` neither reads nor writes the cache. */
  cacheMode?: 'auto' | 'force' | 'bypass';
  report?: CallReport;
  /** Epoch milliseconds after which the call should give up. */
  deadline?: number;
  /** Spans for the call's steps, set only when tracing is on: layers check it and otherwise do nothing. */
  trace?: CallTrace;
}

/** Span attributes: undefined values are left out. */
export type TraceAttributes = Record<string, string | number | boolean | undefined>;

/** A span a layer is inside of, to add what it learned. */
export interface TraceSpan {
  set(attributes: TraceAttributes): void;
}

/** What a layer may do with a call's trace, without knowing what records it. */
export interface CallTrace {
  /** Runs a step inside a child span of the current one; a throw ends the span as an error and is rethrown. */
  span<T>(name: string, attributes: TraceAttributes, run: (span: TraceSpan) => Promise<T>): Promise<T>;
  /** Appends the current span's `traceparent` (and `tracestate`) to upstream request headers given as name, value, ... */
  inject(headers: string[]): void;
}

export interface ModelInfo {
  id: string;
  ownedBy: string;
  created: number;
  contextSize?: number;
  /** Whether it is in memory now, where models are loaded on demand and unloaded when idle (absent: always loaded). */
  status?: ModelLoadState;
}

export type ModelLoadState = 'loaded' | 'loading' | 'unloaded';

export interface ChatModel {
  /** The models this ChatModel can serve, as listed by /v1/models. */
  models(): ModelInfo[];
  stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk>;
  /**
   * A whole answer at once, for models that can give one cheaper than by streaming (a remote upstream asked for a
   * non-streamed answer; wrappers that pass it down). Optional: `complete()` below collects the stream otherwise.
   */
  complete?(req: ChatRequest, ctx: CallContext): Promise<ChatCompletion>;
  /**
   * The tokens the request's prompt renders to, for a model that can count them (its tokenizer and template), so a
   * layer above can fit a prompt to the context. Optional: without it, callers estimate.
   */
  countTokens?(req: ChatRequest): number | Promise<number>;
}

/** One choice of a finished response. */
export interface CompletedChoice {
  index: number;
  text: string;
  finishReason: FinishReason;
  /** The tools this choice asked to have called, in order; absent when it called none. */
  toolCalls?: ToolCall[];
  /** Its tokens' log probabilities, when asked for. */
  logprobs?: TokenLogprob[];
}

/** A finished response, collected from a stream. */
export interface ChatCompletion {
  choices: CompletedChoice[];
  usage: Usage;
}

export function emptyUsage(): Usage {
  return { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 };
}

/** The whole answer: the model's own `complete` when it has one, else its stream gathered; errors are thrown. */
export function complete(model: ChatModel, req: ChatRequest, ctx: CallContext): Promise<ChatCompletion> {
  return model.complete ? model.complete(req, ctx) : collect(model.stream(req, ctx));
}

/** Chunks gathered into choices as they come; an in-band error is thrown. */
class ChoiceGatherer {
  private readonly choices = new Map<number, CompletedChoice>();
  usage = emptyUsage();

  add(chunk: ChatChunk): void {
    switch (chunk.type) {
      case 'text-delta': {
        const choice = this.choice(chunk.index);
        choice.text += chunk.text;
        if (chunk.logprobs) (choice.logprobs ??= []).push(...chunk.logprobs);
        break;
      }
      case 'tool-call-delta': {
        const calls = (this.choice(chunk.index).toolCalls ??= []);
        const call = (calls[chunk.call] ??= { id: '', name: '', arguments: '' });
        if (chunk.id) call.id = chunk.id;
        if (chunk.name) call.name = chunk.name;
        call.arguments += chunk.arguments;
        break;
      }
      case 'finish':
        this.choice(chunk.index).finishReason = chunk.reason;
        break;
      case 'usage':
        this.usage = chunk.usage;
        break;
      case 'error':
        throw chunk.error;
      default:
        assertNever(chunk);
    }
  }

  result(): ChatCompletion {
    return { choices: [...this.choices.values()].sort((a, b) => a.index - b.index), usage: this.usage };
  }

  private choice(index: number): CompletedChoice {
    let c = this.choices.get(index);
    if (!c) this.choices.set(index, (c = { index, text: '', finishReason: 'stop' }));
    return c;
  }
}

/** Runs a stream to its end and gathers the choices; an in-band error is thrown. */
export async function collect(stream: AsyncIterable<ChatChunk>): Promise<ChatCompletion> {
  const gatherer = new ChoiceGatherer();
  for await (const chunk of stream) gatherer.add(chunk);
  return gatherer.result();
}

/** The same, for chunks already at hand (a cached answer). */
export function gather(chunks: Iterable<ChatChunk>): ChatCompletion {
  const gatherer = new ChoiceGatherer();
  for (const chunk of chunks) gatherer.add(chunk);
  return gatherer.result();
}

/** A finished response as the stream that would have produced it: each choice's text, its tool calls, its finish. */
export function completionChunks(result: ChatCompletion): ChatChunk[] {
  const chunks: ChatChunk[] = [];
  for (const c of result.choices) {
    if (c.text || !c.toolCalls) chunks.push({ type: 'text-delta', index: c.index, text: c.text, ...(c.logprobs && { logprobs: c.logprobs }) });
    for (const [call, t] of (c.toolCalls ?? []).entries()) {
      chunks.push({ type: 'tool-call-delta', index: c.index, call, id: t.id, name: t.name, arguments: t.arguments });
    }
    chunks.push({ type: 'finish', index: c.index, reason: c.finishReason });
  }
  chunks.push({ type: 'usage', usage: result.usage });
  return chunks;
}

/** Whether a chunk is output the caller sees (text or a tool call): the first one is the "first token". */
export const isOutput = (chunk: ChatChunk): boolean => chunk.type === 'text-delta' || chunk.type === 'tool-call-delta';

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}

/** About four characters a token: the estimate used wherever no tokenizer is at hand. */
export const estimateTokens = (text: string): number => estimateTokensOfLength(text.length);
/** The same guess from a length alone: a stream counts its characters instead of keeping every piece of text. */
export const estimateTokensOfLength = (characters: number): number => Math.ceil(characters / 4);

/** Whether any message of a request carries an image. */
export const hasImages = (req: ChatRequest): boolean => req.input.type === 'messages' && req.input.messages.some((m) => m.parts !== undefined);

const imageWords = new Map<string, string>();
/**
 * An image as one word of prompt text, `<image:hash>`: equal images give equal words, so routing keys and simulated
 * prefix caches tell screenshots apart. Hashing a multi-megabyte data URL is not free: the last few are remembered.
 */
export function imageWord(url: string): string {
  let word = imageWords.get(url);
  if (word === undefined) {
    if (imageWords.size >= 64) imageWords.clear();
    imageWords.set(url, (word = `<image:${fnv1aString(url).toString(36)}>`));
  }
  return word;
}

const messageText = (m: ChatMessage): string => (m.parts ? m.parts.map((p) => (p.type === 'text' ? p.text : ` ${imageWord(p.url)} `)).join('') : m.content);

/** The request's prompt as plain text, for routing keys and simulated tokenization (not for templates). */
export function promptTextOf(req: ChatRequest): string {
  return req.input.type === 'text' ? req.input.text : req.input.messages.map((m) => `${m.role}: ${messageText(m)}`).join('\n');
}
