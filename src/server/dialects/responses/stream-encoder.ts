// ChatChunk -> the Responses API's typed stream events, in OpenAI's order, each numbered by `sequence_number`:
// created, in_progress, then per output item added / (content part, text deltas | argument deltas) / done, then
// completed, incomplete or failed. A small state machine per stream.
import type { AutoglmError, ChatChunk, FinishReason } from '../../../core/index.js';
import { newId, type StreamEncoder } from '../../inference-endpoint.js';
import {
  messageItem,
  responseObject,
  statusOf,
  usageToWire,
  type FunctionCallItem,
  type OutputItem,
  type ResponseHead,
  type ResponseObject,
  type ResponseUsage,
} from './response-object.js';

/** The finished response (its JSON text too, already made for the last event), for storing. */
export type OnFinished = (response: ResponseObject, json: string) => void;

interface OpenMessage {
  id: string;
  index: number;
  text: string;
  /** The delta event up to its `delta` value: only the delta and the sequence number change from token to token. */
  deltaHead: string;
}

interface OpenCall {
  item: FunctionCallItem;
  index: number;
  call: number;
  deltaHead: string;
}

/** One SSE event; `data` is the event's JSON without its closing brace, the sequence number is added here. */
const event = (type: string, body: string, seq: number) => `event: ${type}\ndata: {"type":"${type}",${body},"sequence_number":${seq}}\n\n`;

/** The error a failed response carries: OpenAI's codes there are few; a limit is `rate_limit_exceeded`. */
const responseError = (error: AutoglmError) => ({ code: error.status === 429 ? 'rate_limit_exceeded' : 'server_error', message: error.message });

export class ResponsesStreamEncoder implements StreamEncoder {
  readonly framed = true;
  private seq = 0;
  private started = false;
  /** Set once the last event (completed, incomplete or failed) went out: later chunks have nothing to add. */
  private ended = false;
  private readonly output: OutputItem[] = [];
  private message: OpenMessage | undefined;
  private call: OpenCall | undefined;
  private finish: FinishReason | undefined;
  private usage: ResponseUsage | null = null;

  constructor(
    private readonly head: ResponseHead,
    private readonly onFinished?: OnFinished,
  ) {}

  encode(chunk: ChatChunk): string[] {
    if (this.ended) return [];
    const out = this.start();
    switch (chunk.type) {
      case 'text-delta':
        if (chunk.index !== 0) break;
        this.closeCall(out);
        if (!this.message) this.openMessage(out);
        if (chunk.text) {
          this.message!.text += chunk.text;
          out.push(`${this.message!.deltaHead}${JSON.stringify(chunk.text)},"logprobs":[],"sequence_number":${this.seq++}}\n\n`);
        }
        break;
      case 'tool-call-delta':
        if (chunk.index !== 0) break;
        this.closeMessage(out);
        if (this.call?.call !== chunk.call) {
          this.closeCall(out);
          this.openCall(out, chunk);
        }
        if (chunk.arguments) {
          this.call!.item.arguments += chunk.arguments;
          out.push(`${this.call!.deltaHead}${JSON.stringify(chunk.arguments)},"sequence_number":${this.seq++}}\n\n`);
        }
        break;
      case 'finish':
        if (chunk.index !== 0) break;
        this.finish = chunk.reason;
        this.closeAll(out);
        if (this.usage) this.complete(out);
        break;
      case 'usage':
        this.usage = usageToWire(chunk.usage);
        if (this.finish) this.complete(out);
        break;
      case 'error':
        out.push(...this.fail(chunk.error));
        break;
    }
    return out;
  }

  /** An error after the headers: the response fails, with what it had made so far. */
  fail(error: AutoglmError): string[] {
    if (this.ended) return [];
    const out = this.start();
    this.ended = true;
    const response = responseObject(this.head, { status: 'failed', output: this.output, usage: this.usage, error: responseError(error) });
    out.push(event('response.failed', `"response":${JSON.stringify(response)}`, this.seq++));
    return out;
  }

  /** The stream's last write: the final events, if the model's stream ended without its finish or usage. */
  get end(): string {
    if (this.ended) return '';
    const out = this.start();
    this.closeAll(out);
    this.complete(out);
    return out.join('');
  }

  /** The response's opening events, once, before its first output. */
  private start(): string[] {
    if (this.started) return [];
    this.started = true;
    const json = JSON.stringify(responseObject(this.head, { status: 'in_progress', output: [], usage: null }));
    return [event('response.created', `"response":${json}`, this.seq++), event('response.in_progress', `"response":${json}`, this.seq++)];
  }

  private openMessage(out: string[]): void {
    const id = newId('msg_');
    const index = this.output.length;
    const ids = `"item_id":"${id}","output_index":${index},"content_index":0`;
    this.message = { id, index, text: '', deltaHead: `event: response.output_text.delta\ndata: {"type":"response.output_text.delta",${ids},"delta":` };
    out.push(event('response.output_item.added', `"output_index":${index},"item":${JSON.stringify(messageItem(id, 'in_progress', undefined))}`, this.seq++));
    out.push(event('response.content_part.added', `${ids},"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}`, this.seq++));
  }

  private closeMessage(out: string[]): void {
    const m = this.message;
    if (!m) return;
    this.message = undefined;
    const ids = `"item_id":"${m.id}","output_index":${m.index},"content_index":0`;
    const text = JSON.stringify(m.text);
    const item = messageItem(m.id, this.itemStatus(), m.text);
    this.output.push(item);
    out.push(event('response.output_text.done', `${ids},"text":${text},"logprobs":[]`, this.seq++));
    out.push(event('response.content_part.done', `${ids},"part":${JSON.stringify(item.content[0])}`, this.seq++));
    out.push(event('response.output_item.done', `"output_index":${m.index},"item":${JSON.stringify(item)}`, this.seq++));
  }

  private openCall(out: string[], chunk: Extract<ChatChunk, { type: 'tool-call-delta' }>): void {
    const id = newId('fc_');
    const index = this.output.length;
    const item: FunctionCallItem = {
      id,
      type: 'function_call',
      status: 'in_progress',
      arguments: '',
      call_id: chunk.id || newId('call_'),
      name: chunk.name ?? '',
    };
    const deltaHead = `event: response.function_call_arguments.delta\ndata: {"type":"response.function_call_arguments.delta","item_id":"${id}","output_index":${index},"delta":`;
    this.call = { item, index, call: chunk.call, deltaHead };
    out.push(event('response.output_item.added', `"output_index":${index},"item":${JSON.stringify(item)}`, this.seq++));
  }

  private closeCall(out: string[]): void {
    const c = this.call;
    if (!c) return;
    this.call = undefined;
    const item: FunctionCallItem = { ...c.item, status: this.itemStatus() };
    this.output.push(item);
    out.push(
      event(
        'response.function_call_arguments.done',
        `"item_id":"${item.id}","output_index":${c.index},"name":${JSON.stringify(item.name)},"arguments":${JSON.stringify(item.arguments)}`,
        this.seq++,
      ),
    );
    out.push(event('response.output_item.done', `"output_index":${c.index},"item":${JSON.stringify(item)}`, this.seq++));
  }

  /** Closes what is open; an answer with no output at all still has its (empty) message, as OpenAI's has. */
  private closeAll(out: string[]): void {
    if (!this.message && !this.call && this.output.length === 0) this.openMessage(out);
    this.closeMessage(out);
    this.closeCall(out);
  }

  private itemStatus(): 'completed' | 'incomplete' {
    return this.finish === 'length' ? 'incomplete' : 'completed';
  }

  private complete(out: string[]): void {
    this.ended = true;
    const status = statusOf(this.finish ?? 'stop');
    const response = responseObject(this.head, { status, output: this.output, usage: this.usage });
    const json = JSON.stringify(response);
    out.push(event(status === 'completed' ? 'response.completed' : 'response.incomplete', `"response":${json}`, this.seq++));
    this.onFinished?.(response, json);
  }
}
