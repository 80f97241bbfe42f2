// The Responses stream encoder against recorded chunk sequences: OpenAI's event order and sequence numbers, and the
// openai SDK's own accumulator building from our events the same Response the last event carries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createParser } from 'eventsource-parser';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import type { Response, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { AutoglmError, type ChatChunk } from '../../src/core/index.js';
import { ResponsesStreamEncoder } from '../../src/server/dialects/responses/index.js';
import { echoOf, responseHead } from '../../src/server/dialects/responses/response-object.js';

const usage: ChatChunk = { type: 'usage', usage: { promptTokens: 12, completionTokens: 5, cachedPromptTokens: 4 } };

interface Run {
  events: ResponseStreamEvent[];
  /** SSE event names, which must equal each data's `type`. */
  names: string[];
  finished: { response: unknown; json: string }[];
}

/** Encodes the chunks as the server would write them (encode, then fail or end) and parses the SSE back. */
function run(chunks: ChatChunk[], failWith?: AutoglmError): Run {
  const finished: Run['finished'] = [];
  const encoder = new ResponsesStreamEncoder(responseHead('stories260K', echoOf({ model: 'stories260K' })), (response, json) =>
    finished.push({ response, json }),
  );
  assert.equal(encoder.framed, true, 'the encoder writes whole SSE events');
  let wire = '';
  for (const chunk of chunks) wire += encoder.encode(chunk).join('');
  if (failWith) wire += encoder.fail(failWith).join('');
  wire += encoder.end;
  const events: ResponseStreamEvent[] = [];
  const names: string[] = [];
  const parser = createParser({
    onEvent(e) {
      names.push(e.event ?? '');
      events.push(JSON.parse(e.data) as ResponseStreamEvent);
    },
  });
  parser.feed(wire);
  assert.ok(!wire.includes('[DONE]'), 'no [DONE] in a Responses stream');
  return { events, names, finished };
}

/** What the SDK's accumulator makes of the events, as `responses.stream(...).finalResponse()` would. */
function accumulated(events: ResponseStreamEvent[]): Response {
  let snapshot: Response | undefined;
  for (const e of events) snapshot = accumulateResponse(e, snapshot);
  assert.ok(snapshot, 'the accumulator built a response');
  return snapshot;
}

function assertNumbered(r: Run): void {
  assert.deepEqual(
    r.events.map((e) => e.sequence_number),
    r.events.map((_e, i) => i),
    'sequence numbers count up from 0',
  );
  assert.deepEqual(
    r.names,
    r.events.map((e) => e.type),
    'each SSE event name is its type',
  );
}

const last = <T>(items: T[]): T => items[items.length - 1]!;

describe('Responses stream encoder', () => {
  it('text: created, in_progress, the message item and its part, deltas, then the dones and completed', () => {
    const r = run([
      { type: 'text-delta', index: 0, text: 'Once' },
      { type: 'text-delta', index: 0, text: ' upon' },
      { type: 'text-delta', index: 0, text: ' a "time"\n' },
      { type: 'finish', index: 0, reason: 'stop' },
      usage,
    ]);
    assertNumbered(r);
    assert.deepEqual(
      r.events.map((e) => e.type),
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.delta',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ],
    );
    const created = r.events[0] as Extract<ResponseStreamEvent, { type: 'response.created' }>;
    assert.equal(created.response.status, 'in_progress');
    assert.deepEqual(created.response.output, []);
    const done = last(r.events) as Extract<ResponseStreamEvent, { type: 'response.completed' }>;
    assert.equal(done.response.status, 'completed');
    assert.equal(done.response.id, created.response.id, 'one response id throughout');
    assert.match(done.response.id, /^resp_/);
    assert.equal(done.response.output_text, 'Once upon a "time"\n');
    assert.deepEqual(done.response.usage, {
      input_tokens: 12,
      input_tokens_details: { cached_tokens: 4 },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 17,
    });
    const item = done.response.output[0]!;
    assert.equal(item.type, 'message');
    assert.match(item.id!, /^msg_/);
    const deltas = r.events.filter((e) => e.type === 'response.output_text.delta');
    assert.ok(
      deltas.every((d) => d.item_id === item.id && d.output_index === 0 && d.content_index === 0),
      'every delta names the message item, output 0, part 0',
    );
    assert.deepEqual(accumulated(r.events), done.response, "the SDK's accumulator ends on the completed response");
    assert.equal(r.finished.length, 1, 'the finished response is handed over once, for storing');
    assert.deepEqual(JSON.parse(r.finished[0]!.json), done.response, 'what is stored is what the client got');
  });

  it('text then two function calls: the message closes before the first call opens, each call closes before the next', () => {
    const r = run([
      { type: 'text-delta', index: 0, text: 'Let me look.' },
      { type: 'tool-call-delta', index: 0, call: 0, id: 'call_a', name: 'get_weather', arguments: '{"city":' },
      { type: 'tool-call-delta', index: 0, call: 0, arguments: '"Paris"}' },
      { type: 'tool-call-delta', index: 0, call: 1, id: 'call_b', name: 'get_time', arguments: '{"zone":"CET"}' },
      { type: 'finish', index: 0, reason: 'tool_calls' },
      usage,
    ]);
    assertNumbered(r);
    assert.deepEqual(
      r.events.map((e) => e.type),
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.output_item.added',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.done',
        'response.output_item.done',
        'response.output_item.added',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.done',
        'response.output_item.done',
        'response.completed',
      ],
    );
    const done = last(r.events) as Extract<ResponseStreamEvent, { type: 'response.completed' }>;
    const [message, first, second] = done.response.output;
    assert.equal(message!.type, 'message');
    assert.ok(first!.type === 'function_call' && second!.type === 'function_call', 'two function_call items follow');
    assert.deepEqual([first.call_id, first.name, first.arguments, first.status], ['call_a', 'get_weather', '{"city":"Paris"}', 'completed']);
    assert.match(first.id!, /^fc_/);
    assert.deepEqual([second.call_id, second.name, second.arguments], ['call_b', 'get_time', '{"zone":"CET"}']);
    const argsDone = r.events.find((e) => e.type === 'response.function_call_arguments.done');
    assert.ok(argsDone?.type === 'response.function_call_arguments.done', 'arguments.done is sent');
    assert.deepEqual([argsDone.item_id, argsDone.output_index, argsDone.name, argsDone.arguments], [first.id, 1, 'get_weather', '{"city":"Paris"}']);
    assert.deepEqual(accumulated(r.events), done.response);
  });

  it('a function call alone has no message item', () => {
    const r = run([
      { type: 'tool-call-delta', index: 0, call: 0, id: 'call_x', name: 'f', arguments: '{}' },
      { type: 'finish', index: 0, reason: 'tool_calls' },
      usage,
    ]);
    const done = last(r.events) as Extract<ResponseStreamEvent, { type: 'response.completed' }>;
    assert.deepEqual(
      done.response.output.map((o) => o.type),
      ['function_call'],
    );
    assert.equal(done.response.output_text, '');
  });

  it('cut at max_output_tokens: response.incomplete with its reason, the item incomplete', () => {
    const r = run([{ type: 'text-delta', index: 0, text: 'Once upon' }, { type: 'finish', index: 0, reason: 'length' }, usage]);
    assertNumbered(r);
    const done = last(r.events);
    assert.equal(done.type, 'response.incomplete');
    assert.ok(done.type === 'response.incomplete', 'incomplete');
    assert.equal(done.response.status, 'incomplete');
    assert.deepEqual(done.response.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal((done.response.output[0] as { status: string }).status, 'incomplete');
    assert.deepEqual(accumulated(r.events), done.response);
  });

  it('usage before the finish still ends on completed, once', () => {
    const r = run([{ type: 'text-delta', index: 0, text: 'Hi' }, usage, { type: 'finish', index: 0, reason: 'stop' }]);
    assertNumbered(r);
    assert.equal(r.events.filter((e) => e.type === 'response.completed').length, 1);
    assert.equal(last(r.events).type, 'response.completed');
  });

  it('an error mid-stream: response.failed with the error and the output so far, and nothing after it', () => {
    const error = new AutoglmError(500, 'server_error', 'upstream_error', 'the replica went away');
    const r = run([{ type: 'text-delta', index: 0, text: 'Once' }, { type: 'error', error }, { type: 'text-delta', index: 0, text: ' more' }, usage]);
    assertNumbered(r);
    const failed = last(r.events);
    assert.ok(failed.type === 'response.failed', `ends on response.failed, not ${failed.type}`);
    assert.equal(failed.response.status, 'failed');
    assert.deepEqual(failed.response.error, { code: 'server_error', message: 'the replica went away' });
    assert.equal(r.events.filter((e) => e.type === 'response.output_text.delta').length, 1, 'nothing is sent after the failure');
    assert.equal(r.finished.length, 0, 'a failed response is not stored');
  });

  it("a thrown error (the encoder's fail) before any output still opens the response, then fails it", () => {
    const r = run([], new AutoglmError(429, 'rate_limit_error', 'rate_limited', 'slow down'));
    assertNumbered(r);
    assert.deepEqual(
      r.events.map((e) => e.type),
      ['response.created', 'response.in_progress', 'response.failed'],
    );
    const failed = last(r.events);
    assert.ok(failed.type === 'response.failed', 'failed');
    assert.equal(failed.response.error?.code, 'rate_limit_exceeded');
  });

  it('a model stream that ends without its finish or usage is completed by the last write', () => {
    const r = run([{ type: 'text-delta', index: 0, text: 'Once' }]);
    assertNumbered(r);
    assert.equal(last(r.events).type, 'response.completed');
    assert.deepEqual(accumulated(r.events), (last(r.events) as Extract<ResponseStreamEvent, { type: 'response.completed' }>).response);
    assert.equal(r.finished.length, 1);
  });
});
