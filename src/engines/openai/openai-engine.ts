// A remote OpenAI-compatible server (vLLM, SGLang, Ollama, llama.cpp server, Zhipu, OpenAI...) as a ChatModel.
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Pool, type Dispatcher } from 'undici';
import {
  AutoglmError,
  completionChunks,
  estimateTokens,
  estimateTokensOfLength,
  isOutput,
  modelNotFound,
  watchAbort,
  watchStream,
  type CallContext,
  type ChatChunk,
  type ChatCompletion,
  type ChatModel,
  type ChatRequest,
  type ModelInfo,
  type Usage,
} from '../../core/index.js';
import { OpenAIEmbedder } from './openai-embedder.js';
import { UPSTREAM_PRESETS, type UpstreamPresetName } from './presets.js';
import { callUpstream, upstreamHeaders, UpstreamCallError, type UpstreamAnswer } from './upstream-call.js';
import { errorFromConnection, errorFromUpstreamStatus } from './upstream-errors.js';
import {
  choiceLogprobs,
  choiceText,
  choiceToolCallDeltas,
  choiceToolCalls,
  finishReasonFromWire,
  upstreamBody,
  isUpstreamPayload,
  usageFromWire,
  type UpstreamPayload,
} from './wire.js';

export interface OpenAIEngineOptions {
  /** Name clients use. */
  model: string;
  /** Name the upstream knows the model by (default: the same). */
  upstreamModel?: string;
  preset?: UpstreamPresetName;
  baseUrl?: string;
  apiKey?: string;
  /** Label for errors and metrics. */
  replica?: string;
  connections?: number;
  connectTimeoutMs?: number;
  firstTokenTimeoutMs?: number;
  totalTimeoutMs?: number;
  healthPath?: string;
  /** Injected for tests; by default a keep-alive undici Pool per upstream. */
  dispatcher?: Dispatcher;
}

export class OpenAIEngine implements ChatModel {
  private readonly dispatcher: Dispatcher;
  private readonly basePath: string;
  /** Content type and credentials, as the flat name/value list undici takes without copying. */
  private readonly headers: string[];
  private readonly extensions: boolean;
  readonly replica: string;

  constructor(private readonly options: OpenAIEngineOptions) {
    const preset = UPSTREAM_PRESETS[options.preset ?? 'vllm'];
    const base = new URL(options.baseUrl ?? preset.baseUrl);
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.replica = options.replica ?? base.host;
    this.extensions = preset.samplingExtensions;
    this.headers = ['content-type', 'application/json', ...(options.apiKey ? ['authorization', `Bearer ${options.apiKey}`] : [])];
    this.dispatcher =
      options.dispatcher ??
      new Pool(base.origin, {
        connections: options.connections ?? 256,
        keepAliveTimeout: 30_000,
        connect: { timeout: options.connectTimeoutMs ?? 3_000 },
        // Backstops; the first-token and total timeouts below are the ones callers see.
        headersTimeout: options.totalTimeoutMs ?? 600_000,
        bodyTimeout: options.totalTimeoutMs ?? 600_000,
      });
  }

  models(): ModelInfo[] {
    return [{ id: this.options.model, ownedBy: this.replica, created: 0 }];
  }

  private embedder?: OpenAIEmbedder;
  /** The upstream's /v1/embeddings, over this engine's connections. */
  get embeddings(): OpenAIEmbedder {
    const { model, upstreamModel, totalTimeoutMs } = this.options;
    const endpoint = { dispatcher: this.dispatcher, basePath: this.basePath, headers: this.headers, replica: this.replica, model };
    return (this.embedder ??= new OpenAIEmbedder({ ...endpoint, upstreamModel: upstreamModel ?? model, timeoutMs: totalTimeoutMs ?? 600_000 }));
  }

  /** Active health check: the upstream answers its model list. */
  async probe(signal: AbortSignal): Promise<boolean> {
    try {
      const res = await this.dispatcher.request({
        method: 'GET',
        path: `${this.basePath}${this.options.healthPath ?? '/models'}`,
        headers: this.headers,
        signal,
      });
      await res.body.dump();
      return res.statusCode < 300;
    } catch {
      return false;
    }
  }

  private path(req: ChatRequest): string {
    return `${this.basePath}${req.input.type === 'messages' ? '/chat/completions' : '/completions'}`;
  }

  /**
   * Our headers plus the call's request id, so one id follows a request through the gateway's logs and the upstream's
   * (vLLM, for one, takes X-Request-Id as its own).
   */
  private headersFor(ctx: CallContext): string[] {
    return upstreamHeaders(this.headers, ctx);
  }

  private body(req: ChatRequest, stream: boolean): string {
    return JSON.stringify(upstreamBody(req, this.options.upstreamModel ?? this.options.model, stream, this.extensions));
  }

  /**
   * A whole answer, asked of the upstream unstreamed. The caller's signal aborts the call and the timeout is undici's
   * own: no controller or timers of ours on the busiest path of a gateway.
   */
  async complete(req: ChatRequest, ctx: CallContext): Promise<ChatCompletion> {
    if (req.model !== this.options.model) throw modelNotFound(req.model, [this.options.model]);
    const timeout = this.options.totalTimeoutMs ?? 600_000;
    let res: UpstreamAnswer;
    try {
      res = await callUpstream(
        this.dispatcher,
        {
          method: 'POST',
          path: this.path(req),
          headers: this.headersFor(ctx),
          body: this.body(req, false),
          headersTimeout: timeout,
          bodyTimeout: timeout,
        },
        ctx.signal,
      );
    } catch (err) {
      ctx.signal.throwIfAborted();
      const failure = err instanceof UpstreamCallError ? err : new UpstreamCallError(err, false);
      throw errorFromConnection(failure.cause, this.replica, failure.answering ? 'stream' : 'connect');
    }
    if (res.statusCode >= 400) throw errorFromUpstreamStatus(res.statusCode, res.text, res.headers['retry-after'], this.replica);
    return this.whole(this.parsePayload(res.text));
  }

  private whole(payload: UpstreamPayload): ChatCompletion {
    const choices = payload.choices.map((c, i) => {
      const toolCalls = choiceToolCalls(c);
      const logprobs = choiceLogprobs(c);
      return {
        index: i,
        text: choiceText(c),
        finishReason: finishReasonFromWire(c.finish_reason) ?? 'stop',
        ...(toolCalls && { toolCalls }),
        ...(logprobs && { logprobs }),
      };
    });
    const estimate = (c: ChatCompletion['choices'][number]) =>
      estimateTokens(c.text) + (c.toolCalls ?? []).reduce((n, t) => n + estimateTokens(t.name + t.arguments), 0);
    const usage = payload.usage
      ? usageFromWire(payload.usage)
      : { promptTokens: 0, completionTokens: choices.reduce((n, c) => n + estimate(c), 0), cachedPromptTokens: 0 };
    return { choices, usage };
  }

  stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
    const stream = req.stream !== false;
    let phase: 'first-token' | 'total' | undefined;
    let first = true;
    let timers: { firstToken: NodeJS.Timeout; total: NodeJS.Timeout; unwatch: () => void } | undefined;
    const stopTimers = () => {
      if (!timers) return;
      clearTimeout(timers.firstToken);
      clearTimeout(timers.total);
      timers.unwatch();
    };
    return watchStream(
      async () => {
        if (req.model !== this.options.model) throw modelNotFound(req.model, [this.options.model]);
        const abort = new AbortController();
        timers = {
          unwatch: watchAbort(ctx.signal, () => abort.abort(ctx.signal.reason)),
          firstToken: setTimeout(() => {
            phase = 'first-token';
            abort.abort();
          }, this.options.firstTokenTimeoutMs ?? 60_000),
          total: setTimeout(() => {
            phase = 'total';
            abort.abort();
          }, this.options.totalTimeoutMs ?? 600_000),
        };
        try {
          return await this.open(req, ctx, stream, abort.signal, () => phase);
        } catch (err) {
          stopTimers();
          throw err;
        }
      },
      {
        item(chunk) {
          if (first && isOutput(chunk)) {
            clearTimeout(timers!.firstToken);
            first = false;
          }
        },
        // A failure once the answer has begun ends the stream with an error event; a caller that left ends it quietly.
        failed: (err): ChatChunk | undefined => {
          if (ctx.signal.aborted) return undefined;
          if (err instanceof AutoglmError) throw err;
          return { type: 'error', error: errorFromConnection(err, this.replica, phase ?? 'stream') };
        },
        ended: stopTimers,
      },
    );
  }

  /** The upstream's answer, once it has said it is answering: its chunks, streamed or whole. */
  private async open(
    req: ChatRequest,
    ctx: CallContext,
    stream: boolean,
    signal: AbortSignal,
    phase: () => 'first-token' | 'total' | undefined,
  ): Promise<AsyncIterable<ChatChunk>> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request({ method: 'POST', path: this.path(req), headers: this.headersFor(ctx), body: this.body(req, stream), signal });
    } catch (err) {
      ctx.signal.throwIfAborted();
      throw errorFromConnection(err, this.replica, phase() ?? 'connect');
    }
    if (res.statusCode >= 400) {
      const body = await res.body.text().catch(() => '');
      throw errorFromUpstreamStatus(res.statusCode, body, res.headers['retry-after'], this.replica);
    }
    return stream ? this.fromSse(res.body) : this.fromJson(res.body);
  }

  private parsePayload(data: string): UpstreamPayload {
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      throw new AutoglmError(502, 'server_error', 'upstream_bad_payload', `Upstream ${this.replica} sent invalid JSON.`);
    }
    if (!isUpstreamPayload(json)) throw new AutoglmError(502, 'server_error', 'upstream_bad_payload', `Upstream ${this.replica} sent an unexpected payload.`);
    if (json.error) throw new AutoglmError(502, 'server_error', 'upstream_error', `Upstream ${this.replica} failed mid-stream: ${json.error.message}`);
    return json;
  }

  private async *fromJson(body: Dispatcher.ResponseData['body']): AsyncGenerator<ChatChunk> {
    const { choices, usage } = this.whole(this.parsePayload(await body.text()));
    // This engine serves one choice (n > 1 is fanned out above it): every upstream choice is choice 0.
    yield* completionChunks({ choices: choices.map((c) => ({ ...c, index: 0 })), usage });
  }

  /** Upstream SSE, one chunk at a time: each event is handed on as soon as it is parsed, never buffered. */
  private async *fromSse(body: Dispatcher.ResponseData['body']): AsyncGenerator<ChatChunk> {
    const events: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e) });
    let usage: Usage | undefined;
    // Counted, not kept: 256 streams each holding every delta as a string promoted them all out of the young heap.
    let completionChars = 0;
    let done = false;
    let finished = false;
    // A UTF-8 character may be split between two network chunks; the decoder holds the partial bytes.
    const decoder = new StringDecoder('utf8');
    for await (const bytes of body as AsyncIterable<Buffer>) {
      parser.feed(decoder.write(bytes));
      for (const event of events.splice(0)) {
        if (event.data === '[DONE]') {
          done = true;
          continue;
        }
        const payload = this.parsePayload(event.data);
        if (payload.usage) usage = usageFromWire(payload.usage);
        for (const choice of payload.choices) {
          const delta = choiceText(choice);
          const logprobs = choiceLogprobs(choice);
          if (delta || logprobs) {
            completionChars += delta.length;
            yield logprobs ? { type: 'text-delta', index: 0, text: delta, logprobs } : { type: 'text-delta', index: 0, text: delta };
          }
          if (choice.delta?.tool_calls) {
            for (const piece of choiceToolCallDeltas(choice)) {
              completionChars += (piece.name?.length ?? 0) + piece.arguments.length;
              yield { type: 'tool-call-delta', index: 0, ...piece };
            }
          }
          const reason = finishReasonFromWire(choice.finish_reason);
          if (reason) {
            finished = true;
            yield { type: 'finish', index: 0, reason };
          }
        }
      }
    }
    if (!done && !finished) throw errorFromConnection(new Error('no [DONE]'), this.replica, 'stream');
    if (!finished) yield { type: 'finish', index: 0, reason: 'stop' };
    yield { type: 'usage', usage: usage ?? { promptTokens: 0, completionTokens: estimateTokensOfLength(completionChars), cachedPromptTokens: 0 } };
  }

  async close(): Promise<void> {
    if (!this.options.dispatcher) await this.dispatcher.close();
  }
}
