// Anthropic's stream encoder against recorded chunk sequences: the events, their order and their JSON, as the
// Messages API sends them (message_start, block start, one ping, deltas, block stop, message_delta, message_stop).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutoglmError, type ChatChunk } from '../../src/core/index.js';
import { messagesStreamEncoder, messageToWire } from '../../src/server/dialects/anthropic/index.js';

interface Event {
  event: string;
  data: Record<string, unknown>;
}

/** Every event the encoder writes for these chunks, then its end, parsed; each must be a whole SSE event. */
function run(chunks: ChatChunk[], failWith?: AutoglmError): Event[] {
  const encoder = messagesStreamEncoder('glm-4');
  assert.equal(encoder.framed, true);
  let wire = chunks.flatMap((c) => encoder.encode(c)).join('');
  if (failWith) wire += encoder.fail!(failWith).join('');
  wire += encoder.end ?? 'data: [DONE]\n\n';
  assert.ok(wire.endsWith('\n\n'), 'ends on a whole event');
  return wire
    .trimEnd()
    .split('\n\n')
    .map((block) => {
      const [eventLine, dataLine, ...rest] = block.split('\n');
      assert.equal(rest.length, 0, `one event line and one data line: ${block}`);
      assert.match(eventLine!, /^event: /);
      const data = JSON.parse(dataLine!.replace(/^data: /, '')) as Record<string, unknown>;
      const event = eventLine!.slice('event: '.length);
      assert.equal(data.type, event, 'the data names its event');
      return { event, data };
    });
}

const usage = { type: 'usage', usage: { promptTokens: 12, completionTokens: 3, cachedPromptTokens: 4 } } as const;

describe('Anthropic stream encoder', () => {
  it('text: start, one text block with a ping after its start, the stop reason and usage, stop', () => {
    const events = run([
      { type: 'text-delta', index: 0, text: 'Once' },
      { type: 'text-delta', index: 0, text: ' upon' },
      { type: 'finish', index: 0, reason: 'length' },
      usage,
    ]);
    assert.deepEqual(
      events.map((e) => e.event),
      ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'],
    );
    const start = events[0]!.data.message as Record<string, unknown>;
    assert.match(String(start.id), /^msg_/);
    assert.deepEqual(
      { ...start, id: 'x' },
      {
        id: 'x',
        type: 'message',
        role: 'assistant',
        model: 'glm-4',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 },
      },
    );
    assert.deepEqual(events[1]!.data, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    assert.deepEqual(events[3]!.data, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Once' } });
    assert.deepEqual(events[5]!.data, { type: 'content_block_stop', index: 0 });
    assert.deepEqual(events[6]!.data, {
      type: 'message_delta',
      delta: { stop_reason: 'max_tokens', stop_sequence: null },
      // Prompt tokens the engine reused from its cache are cache reads, apart from input_tokens, as Anthropic counts.
      usage: { input_tokens: 8, cache_creation_input_tokens: 0, cache_read_input_tokens: 4, output_tokens: 3 },
    });
  });

  it('text then two tool calls: a block each, arguments as input_json_delta, stop_reason tool_use', () => {
    const events = run([
      { type: 'text-delta', index: 0, text: 'Let me look.' },
      { type: 'tool-call-delta', index: 0, call: 0, id: 'call_abc', name: 'get_weather', arguments: '' },
      { type: 'tool-call-delta', index: 0, call: 0, arguments: '{"city":' },
      { type: 'tool-call-delta', index: 0, call: 0, arguments: '"Paris"}' },
      { type: 'tool-call-delta', index: 0, call: 1, id: 'call_def', name: 'get_time', arguments: '{}' },
      { type: 'finish', index: 0, reason: 'tool_calls' },
      usage,
    ]);
    assert.deepEqual(
      events.map((e) => `${e.event}${'index' in e.data ? `:${e.data.index}` : ''}`),
      [
        'message_start',
        'content_block_start:0',
        'ping',
        'content_block_delta:0',
        'content_block_stop:0',
        'content_block_start:1',
        'content_block_delta:1',
        'content_block_delta:1',
        'content_block_stop:1',
        'content_block_start:2',
        'content_block_delta:2',
        'content_block_stop:2',
        'message_delta',
        'message_stop',
      ],
    );
    assert.deepEqual(events[5]!.data.content_block, { type: 'tool_use', id: 'toolu_abc', name: 'get_weather', input: {} });
    assert.deepEqual(events[6]!.data.delta, { type: 'input_json_delta', partial_json: '{"city":' });
    assert.deepEqual(events[9]!.data.content_block, { type: 'tool_use', id: 'toolu_def', name: 'get_time', input: {} });
    assert.equal((events[12]!.data.delta as { stop_reason: string }).stop_reason, 'tool_use');
  });

  it("a turn that called a tool is tool_use even when the upstream's finish said stop", () => {
    const events = run([
      { type: 'tool-call-delta', index: 0, call: 0, id: 'call_1', name: 'f', arguments: '{}' },
      { type: 'finish', index: 0, reason: 'stop' },
      usage,
    ]);
    assert.equal((events.at(-2)!.data.delta as { stop_reason: string }).stop_reason, 'tool_use');
    const whole = messageToWire('glm-4', {
      choices: [{ index: 0, text: '', finishReason: 'stop', toolCalls: [{ id: 'call_1', name: 'f', arguments: '{"a":1}' }] }],
      usage: usage.usage,
    });
    assert.equal(whole.stop_reason, 'tool_use');
    assert.deepEqual(whole.content, [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: 1 } }]);
  });

  it('an empty answer still has one (empty) text block', () => {
    const events = run([{ type: 'text-delta', index: 0, text: '' }, { type: 'finish', index: 0, reason: 'stop' }, usage]);
    assert.deepEqual(
      events.map((e) => e.event),
      ['message_start', 'content_block_start', 'ping', 'content_block_stop', 'message_delta', 'message_stop'],
    );
    assert.equal((events[4]!.data.delta as { stop_reason: string }).stop_reason, 'end_turn');
  });

  it('a stream that reports no usage still ends with message_delta and message_stop', () => {
    const events = run([{ type: 'text-delta', index: 0, text: 'Hi' }]);
    assert.deepEqual(
      events.slice(-3).map((e) => e.event),
      ['content_block_stop', 'message_delta', 'message_stop'],
    );
  });

  it("an error mid-stream is an error event in Anthropic's shape, and nothing after it", () => {
    const overloaded = new AutoglmError(429, 'rate_limit_error', 'server_overloaded', 'The server is at capacity.');
    const events = run([{ type: 'text-delta', index: 0, text: 'Once' }], overloaded);
    assert.deepEqual(
      events.map((e) => e.event),
      ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'error'],
    );
    assert.deepEqual(events.at(-1)!.data, { type: 'error', error: { type: 'overloaded_error', message: 'The server is at capacity.' } });
    const inBand = run([
      { type: 'text-delta', index: 0, text: 'Once' },
      { type: 'error', error: new AutoglmError(502, 'server_error', 'upstream_error', 'Upstream failed.') },
    ]);
    assert.deepEqual(inBand.at(-1)!.data, { type: 'error', error: { type: 'api_error', message: 'Upstream failed.' } });
  });
});
