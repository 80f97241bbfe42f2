// ChatChunks as Anthropic's stream events: message_start, then each content block (start, deltas, stop) with one
// ping after the first start, then message_delta (stop reason, usage) and message_stop. A small state machine per
// stream; each event's JSON is built from pre-serialized pieces, never by stringifying an envelope per token.
import type { AutoglmError, ChatChunk, Usage } from '../../../core/index.js';
import { newId, type StreamEncoder } from '../../inference-endpoint.js';
import { anthropicErrorEvent } from './anthropic-errors.js';
import { stopReasonOf, toolUseId, usageToWire, type StopReason } from './messages-answer.js';

const event = (type: string, data: string) => `event: ${type}\ndata: ${data}\n\n`;
const PING = event('ping', '{"type":"ping"}');
const NO_USAGE: Usage = { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 };

export function messagesStreamEncoder(model: string, answerKey = newId('')): StreamEncoder {
  /** The message's opening: its usage is not known yet (the engine reports it at the end, in message_delta). */
  const start = event(
    'message_start',
    `{"type":"message_start","message":{"id":"msg_${answerKey}","type":"message","role":"assistant","model":${JSON.stringify(model)},` +
      `"content":[],"stop_reason":null,"stop_sequence":null,"usage":${JSON.stringify(usageToWire(NO_USAGE))}}}`,
  );
  let started = false;
  /** The open block's index, and what it is: text, or tool call number `call`. */
  let index = -1;
  let open: 'text' | 'tool' | undefined;
  let call = -1;
  let stop: StopReason = 'end_turn';
  let ended = false;

  const begin = (out: string[], block: string) => {
    index++;
    out.push(event('content_block_start', `{"type":"content_block_start","index":${index},"content_block":${block}}`));
    if (index === 0) out.push(PING);
  };
  const close = (out: string[]) => {
    if (open) out.push(event('content_block_stop', `{"type":"content_block_stop","index":${index}}`));
    open = undefined;
  };
  const delta = (d: string) => event('content_block_delta', `{"type":"content_block_delta","index":${index},"delta":${d}}`);
  /** The message's end: every block closed (an empty text one when there was none), the stop reason and usage. */
  const finish = (out: string[], usage: Usage) => {
    close(out);
    if (index < 0) {
      begin(out, '{"type":"text","text":""}');
      out.push(event('content_block_stop', `{"type":"content_block_stop","index":0}`));
    }
    out.push(
      event('message_delta', `{"type":"message_delta","delta":{"stop_reason":"${stop}","stop_sequence":null},"usage":${JSON.stringify(usageToWire(usage))}}`),
      event('message_stop', '{"type":"message_stop"}'),
    );
    ended = true;
  };
  const opening = (): string[] => {
    if (started) return [];
    started = true;
    return [start];
  };

  return {
    framed: true,
    encode(chunk: ChatChunk): string[] {
      const out = opening();
      if (ended) return out;
      switch (chunk.type) {
        case 'text-delta':
          if (open !== 'text') {
            close(out);
            begin(out, '{"type":"text","text":""}');
            open = 'text';
          }
          if (chunk.text) out.push(delta(`{"type":"text_delta","text":${JSON.stringify(chunk.text)}}`));
          return out;
        case 'tool-call-delta':
          if (open !== 'tool' || call !== chunk.call) {
            close(out);
            begin(out, `{"type":"tool_use","id":${JSON.stringify(toolUseId(chunk.id ?? ''))},"name":${JSON.stringify(chunk.name ?? '')},"input":{}}`);
            open = 'tool';
            call = chunk.call;
          }
          if (chunk.arguments) out.push(delta(`{"type":"input_json_delta","partial_json":${JSON.stringify(chunk.arguments)}}`));
          return out;
        case 'finish':
          close(out);
          stop = stopReasonOf(chunk.reason, call >= 0);
          return out;
        case 'usage':
          finish(out, chunk.usage);
          return out;
        case 'error':
          ended = true;
          out.push(anthropicErrorEvent(chunk.error));
          return out;
      }
    },
    fail(error: AutoglmError): string[] {
      const out = opening();
      // After message_stop the message is whole: an error in tidying up is the server's to log, not the client's.
      if (ended) return out;
      ended = true;
      out.push(anthropicErrorEvent(error));
      return out;
    },
    /** A stream whose engine reported no usage still ends as a message does; one that failed ends with its error. */
    get end(): string {
      if (ended) return '';
      const out = opening();
      finish(out, NO_USAGE);
      return out.join('');
    },
  };
}
