// OpenAI's Responses API on the embedded engine (stories260K), through the official openai SDK unchanged: whole and
// streamed answers, a function-tool loop, conversations by previous_response_id, retrieve and delete; and by raw HTTP
// the stream's exact event order and every error status in OpenAI's shape.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { createParser } from 'eventsource-parser';
import OpenAI from 'openai';
import type { FunctionTool, Response, ResponseFunctionToolCall } from 'openai/resources/responses/responses';
import type { RunningServer } from '../../src/server/index.js';
import { rawRequest } from '../support/raw-http.js';
import { openaiClient, startServer } from '../support/server.js';

const model = 'stories260K';
const weatherParameters = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 24 }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const weatherTool: FunctionTool = { type: 'function', name: 'get_weather', description: 'The weather in a city', parameters: weatherParameters, strict: true };
const validWeather = new Ajv().compile(weatherParameters);

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** A raw request, for refusals the SDK would turn into exceptions and for the exact stream bytes. */
async function send(url: string, method: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** Asserts an error answer is OpenAI's shape, with this status (and param and code, when given). */
function assertError(answer: { status: number; contentType: string; text: string }, status: number, param?: string | null, code?: string): ErrorBody['error'] {
  assert.equal(answer.status, status, answer.text);
  assert.match(answer.contentType, /^application\/json/);
  const body = JSON.parse(answer.text) as ErrorBody;
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  assert.ok(body.error.message.length > 0, 'the error says what is wrong');
  if (param !== undefined) assert.equal(body.error.param, param, body.error.message);
  if (code !== undefined) assert.equal(body.error.code, code, body.error.message);
  return body.error;
}

describe('Responses API on the embedded engine', () => {
  let server: RunningServer;
  let client: OpenAI;
  let url: string;
  before(async () => {
    server = await startServer({ parallel: 2 });
    client = openaiClient(server);
    url = `${server.url}/v1/responses`;
  });
  after(() => server?.close());

  it('answers whole: a Response with its message, output_text, usage and the request echoed', async () => {
    const res = await client.responses.create({
      model,
      instructions: 'Tell a story.',
      input: 'Once upon a time',
      max_output_tokens: 8,
      temperature: 0.5,
      top_p: 0.9,
      metadata: { run: 'e2e' },
      user: 'alice',
    });
    assert.match(res.id, /^resp_/);
    assert.equal(res.object, 'response');
    assert.equal(res.model, model);
    assert.ok(res.created_at > 1_700_000_000, 'created_at is in seconds');
    // Eight tokens cut the story short: incomplete, by max_output_tokens.
    assert.equal(res.status, 'incomplete');
    assert.deepEqual(res.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(res.output.length, 1);
    const message = res.output[0]!;
    assert.ok(message.type === 'message', 'the output is a message');
    assert.match(message.id, /^msg_/);
    assert.equal(message.role, 'assistant');
    const part = message.content[0]!;
    assert.ok(part.type === 'output_text' && part.text.length > 0, 'the message has text');
    assert.equal(res.output_text, part.text);
    assert.equal(res.usage?.output_tokens, 8);
    assert.ok(res.usage!.input_tokens > 0, 'input tokens are counted');
    assert.equal(res.usage!.total_tokens, res.usage!.input_tokens + 8);
    assert.equal(res.usage!.output_tokens_details.reasoning_tokens, 0);
    assert.equal(typeof res.usage!.input_tokens_details.cached_tokens, 'number');
    assert.deepEqual(
      [
        res.instructions,
        res.max_output_tokens,
        res.temperature,
        res.top_p,
        res.metadata,
        res.user,
        (res as { store?: boolean }).store,
        res.error,
        res.previous_response_id,
      ],
      ['Tell a story.', 8, 0.5, 0.9, { run: 'e2e' }, 'alice', true, null, null],
    );
    assert.deepEqual([res.tool_choice, res.tools, res.parallel_tool_calls, res.text?.format], ['auto', [], true, { type: 'text' }]);
  });

  it('streams with responses.create({stream: true}) and responses.stream(): finalResponse is the stored Response', async () => {
    const events = await client.responses.create({ model, input: 'Once upon a time', max_output_tokens: 6, stream: true });
    const types: string[] = [];
    let text = '';
    for await (const e of events) {
      types.push(e.type);
      if (e.type === 'response.output_text.delta') text += e.delta;
    }
    assert.equal(types[0], 'response.created');
    assert.equal(types.at(-1), 'response.incomplete');
    assert.ok(text.length > 0, 'text deltas arrived');

    const stream = client.responses.stream({ model, input: 'Once upon a time', max_output_tokens: 6 });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    assert.equal(final.output_text, deltas.join(''));
    assert.equal(final.status, 'incomplete');
    assert.equal(final.usage?.output_tokens, 6);
    const stored = await client.responses.retrieve(final.id);
    // The SDK's parse step adds `parsed` and `output_parsed` to what it assembled; the rest is the stored response.
    assert.deepEqual(
      JSON.parse(JSON.stringify(final, (k, v: unknown) => (k === 'parsed' || k === 'output_parsed' ? undefined : v))),
      stored,
      'the streamed response was stored as the client assembled it',
    );
  });

  it('follows text.format json_schema: the answer is JSON valid against the schema, and the format is echoed', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer' } },
      required: ['name', 'age'],
      additionalProperties: false,
    };
    const res = await client.responses.create({
      model,
      input: 'Who is in the story?',
      text: { format: { type: 'json_schema', name: 'character', schema, strict: true } },
    });
    assert.equal(res.status, 'completed', res.output_text);
    assert.ok(new Ajv().compile(schema)(JSON.parse(res.output_text)), `valid JSON for the schema: ${res.output_text}`);
    assert.deepEqual(res.text?.format, { type: 'json_schema', name: 'character', schema, strict: true });
  });

  it('runs a function-tool loop: a named function call, then its function_call_output answered in text', async () => {
    const first = await client.responses.create({
      model,
      input: 'What is the weather in Paris?',
      tools: [weatherTool],
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
    });
    assert.equal(first.status, 'completed');
    const calls = first.output.filter((o): o is ResponseFunctionToolCall => o.type === 'function_call');
    assert.equal(calls.length, 1, 'one call with parallel_tool_calls false');
    const call = calls[0]!;
    assert.equal(call.name, 'get_weather');
    assert.match(call.id!, /^fc_/);
    assert.match(call.call_id, /^call_/);
    assert.ok(validWeather(JSON.parse(call.arguments)), `arguments follow the schema: ${call.arguments}`);
    assert.deepEqual(first.tool_choice, { type: 'function', name: 'get_weather' });
    assert.equal(first.tools[0]!.type === 'function' && first.tools[0]!.name, 'get_weather');

    // The loop as a stateless client runs it: the call and its result sent back as items, nothing stored.
    const second = await client.responses.create({
      model,
      store: false,
      input: [
        { role: 'user', content: 'What is the weather in Paris?' },
        ...(first.output as OpenAI.Responses.ResponseInputItem[]),
        { type: 'function_call_output', call_id: call.call_id, output: JSON.stringify({ temperature: 21 }) },
      ],
      max_output_tokens: 8,
    });
    assert.ok(second.output_text.length > 0, 'the model answers the result in text');
    const question = await client.responses.create({ model, store: false, input: 'What is the weather in Paris?', max_output_tokens: 1 });
    assert.ok(second.usage!.input_tokens > question.usage!.input_tokens, 'the call and its result are in the prompt');
    await assert.rejects(client.responses.retrieve(second.id), (e: unknown) => e instanceof OpenAI.NotFoundError, 'store: false keeps nothing');
  });

  it('continues a conversation by previous_response_id: the earlier turns are in the prompt', async () => {
    const first = await client.responses.create({ model, input: 'Once upon a time there was a cat.', max_output_tokens: 8 });
    const second = await client.responses.create({ model, previous_response_id: first.id, input: 'And then?', max_output_tokens: 8 });
    assert.equal(second.previous_response_id, first.id);
    const alone = await client.responses.create({ model, input: 'And then?', max_output_tokens: 8, store: false });
    // The continuation's prompt holds the first turn (its input and its 8 output tokens) before the new input.
    assert.ok(
      second.usage!.input_tokens >= alone.usage!.input_tokens + first.usage!.output_tokens,
      `continued prompt ${second.usage!.input_tokens} vs alone ${alone.usage!.input_tokens} + ${first.usage!.output_tokens}`,
    );
    // A chain of three: the third continues the second, which continued the first.
    const third = await client.responses.create({ model, previous_response_id: second.id, input: 'The end.', max_output_tokens: 4 });
    assert.ok(third.usage!.input_tokens > second.usage!.input_tokens + second.usage!.output_tokens, 'the whole chain is in the prompt');
    await assert.rejects(
      client.responses.create({ model, previous_response_id: alone.id, input: 'x' }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === 'previous_response_not_found' && e.param === 'previous_response_id',
      'an unstored response cannot be continued',
    );
  });

  it('continues a function-tool loop by previous_response_id, the call_id known from the stored turn', async () => {
    const first = await client.responses.create({ model, input: 'Weather?', tools: [weatherTool], tool_choice: 'required', parallel_tool_calls: false });
    const call = first.output.find((o): o is ResponseFunctionToolCall => o.type === 'function_call');
    assert.ok(call, 'tool_choice required makes a call');
    const second = await client.responses.create({
      model,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'Sunny, 21 C' }],
      max_output_tokens: 6,
    });
    assert.ok(second.output_text.length > 0, 'answered in text');
  });

  it('retrieves and deletes a stored response; both are 404 once it is gone', async () => {
    const res = await client.responses.create({ model, input: 'Once upon a time', max_output_tokens: 4 });
    const got: Response = await client.responses.retrieve(res.id);
    assert.deepEqual(got, res);
    const raw = await send(`${url}/${res.id}`, 'DELETE');
    assert.equal(raw.status, 200, raw.text);
    assert.deepEqual(JSON.parse(raw.text), { id: res.id, object: 'response.deleted', deleted: true });
    await assert.rejects(client.responses.retrieve(res.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
    await assert.rejects(client.responses.delete(res.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
    const other = await client.responses.create({ model, input: 'Once', max_output_tokens: 2 });
    await client.responses.delete(other.id);
  });

  it("lists a stored response's input items with the SDK, newest first, a page at a time, the earlier turns included", async () => {
    const first = await client.responses.create({ model, instructions: 'Tell a story.', input: 'Once upon a time', max_output_tokens: 4 });
    const second = await client.responses.create({
      model,
      previous_response_id: first.id,
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'Go on.' }] }],
      max_output_tokens: 4,
    });
    const items: OpenAI.Responses.ResponseItem[] = [];
    for await (const item of client.responses.inputItems.list(second.id, { limit: 1 })) items.push(item);
    // Newest first: this turn's input, the first answer, the first input; instructions are not items.
    assert.deepEqual(
      items.map((i) => (i.type === 'message' ? i.role : i.type)),
      ['user', 'assistant', 'user'],
    );
    const [go, answer, once] = items as OpenAI.Responses.ResponseInputMessageItem[];
    assert.deepEqual(go!.content, [{ type: 'input_text', text: 'Go on.' }]);
    assert.equal(answer!.id, first.output[0]!.id, 'the earlier answer keeps its own id');
    assert.deepEqual(once!.content, [{ type: 'input_text', text: 'Once upon a time' }]);
    const again = await client.responses.inputItems.list(second.id, { order: 'asc' });
    assert.deepEqual(
      again.data.map((i) => i.id),
      items.map((i) => i.id).reverse(),
      'ids are the same from call to call',
    );
    await assert.rejects(client.responses.inputItems.list('resp_unknown'), (e: unknown) => e instanceof OpenAI.NotFoundError);
    assertError(await send(`${url}/${second.id}/input_items?limit=0`, 'GET'), 400, 'limit');
    assertError(await send(`${url}/${second.id}/input_items?order=sideways`, 'GET'), 400, 'order');
  });

  it('streams the exact event order with sequence numbers counting from 0, as SSE without [DONE]', async () => {
    const port = Number(new URL(server.url).port);
    const body = JSON.stringify({ model, input: 'Once upon a time', max_output_tokens: 5, stream: true });
    const answer = await rawRequest(
      port,
      `POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.equal(answer.status, 200);
    assert.match(answer.headers['content-type'] ?? '', /^text\/event-stream/);
    // Chunked framing removed: the events are `event:` and `data:` lines.
    const sse = answer.body.replace(/\r\n[0-9a-f]+\r\n/g, '').replace(/^[0-9a-f]+\r\n/, '');
    assert.ok(!sse.includes('[DONE]'), 'no [DONE]');
    const names: string[] = [];
    const events: { type: string; sequence_number: number }[] = [];
    createParser({
      onEvent(e) {
        names.push(e.event ?? '');
        events.push(JSON.parse(e.data) as { type: string; sequence_number: number });
      },
    }).feed(sse);
    const types = events.map((e) => e.type);
    const deltas = types.filter((t) => t === 'response.output_text.delta').length;
    assert.ok(deltas >= 1 && deltas <= 5, `one delta a token: ${deltas}`);
    assert.deepEqual(types, [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array<string>(deltas).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.incomplete',
    ]);
    assert.deepEqual(names, types, 'each event line names its type');
    assert.deepEqual(
      events.map((e) => e.sequence_number),
      events.map((_e, i) => i),
    );
  });

  it('streams a function call: output_item.added, argument deltas, arguments.done, output_item.done', async () => {
    const stream = client.responses.stream({ model, input: 'Weather?', tools: [weatherTool], tool_choice: 'required', parallel_tool_calls: false });
    const types: string[] = [];
    stream.on('event', (e) => types.push(e.type));
    const final = await stream.finalResponse();
    const firstCall = types.indexOf('response.function_call_arguments.delta');
    assert.ok(firstCall > 0, 'argument deltas were streamed');
    assert.equal(types[firstCall - 1], 'response.output_item.added');
    const argsDone = types.indexOf('response.function_call_arguments.done');
    assert.equal(types[argsDone + 1], 'response.output_item.done');
    assert.equal(types.at(-1), 'response.completed');
    const call = final.output.find((o) => o.type === 'function_call');
    assert.ok(call?.type === 'function_call' && validWeather(JSON.parse(call.arguments)), 'the assembled call has valid arguments');
  });

  describe('every error status in OpenAI shape', () => {
    const cases: [string, unknown, number, string | null, string?][] = [
      ['an unknown parameter', { model, input: 'x', frobnicate: 1 }, 400, 'frobnicate', 'unknown_parameter'],
      ['a built-in tool', { model, input: 'x', tools: [{ type: 'web_search' }] }, 400, 'tools[0].type', 'unsupported_value'],
      ['background: true', { model, input: 'x', background: true }, 400, 'background'],
      ['reasoning effort', { model, input: 'x', reasoning: { effort: 'high' } }, 400, 'reasoning'],
      ['an unknown item type', { model, input: [{ type: 'web_search_call', id: 'ws_1' }] }, 400, 'input[0].type', 'unsupported_value'],
      ['a file input part', { model, input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] }, 400, 'input[0].content[0].type'],
      ['include', { model, input: 'x', include: ['reasoning.encrypted_content'] }, 400, 'include[0]'],
      ['truncation auto', { model, input: 'x', truncation: 'auto' }, 400, 'truncation'],
      ['a missing model', { input: 'x' }, 400, 'model', 'invalid_type'],
      ['no input', { model }, 400, 'input'],
      ['max_output_tokens 0', { model, input: 'x', max_output_tokens: 0 }, 400, 'max_output_tokens'],
      ['a call output without its call', { model, input: [{ type: 'function_call_output', call_id: 'call_nope', output: '1' }] }, 400, 'input[0].call_id'],
      [
        'tool_choice naming a function not offered',
        { model, input: 'x', tools: [weatherTool], tool_choice: { type: 'function', name: 'nope' } },
        400,
        'tool_choice',
      ],
      ['a built-in tool_choice', { model, input: 'x', tool_choice: { type: 'web_search_preview' } }, 400, 'tool_choice.type', 'unsupported_value'],
      ['an unknown tool_choice', { model, input: 'x', tool_choice: 'sometimes' }, 400, 'tool_choice'],
      ['json_schema without a schema', { model, input: 'x', text: { format: { type: 'json_schema', name: 'n' } } }, 400, 'text.format.schema'],
      ['an unknown previous_response_id', { model, input: 'x', previous_response_id: 'resp_nope' }, 400, 'previous_response_id', 'previous_response_not_found'],
      ['an unknown model', { model: 'no-such-model', input: 'x' }, 404, 'model', 'model_not_found'],
    ];
    for (const [name, body, status, param, code] of cases) {
      it(`${status} for ${name}`, async () => {
        assertError(await send(url, 'POST', body), status, param, code);
      });
    }

    it('400 for a body that is not JSON or not an object, 415 for another media type, 413 past the size limit', async () => {
      assertError(await send(url, 'POST', '{"model":'), 400, null, 'invalid_json');
      assertError(await send(url, 'POST', '[1]'), 400, null, 'invalid_body');
      assertError(await send(url, 'POST', 'model=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415);
      assertError(await send(url, 'POST', { model, input: 'x'.repeat(5 * 1024 * 1024) }), 413);
    });

    it('404 naming the id for GET and DELETE of an unknown response, 400 for a stream replay, 405 for other methods', async () => {
      const got = assertError(await send(`${url}/resp_unknown`, 'GET'), 404, 'response_id', 'response_not_found');
      assert.match(got.message, /resp_unknown/);
      assertError(await send(`${url}/resp_unknown`, 'DELETE'), 404, 'response_id', 'response_not_found');
      assertError(await send(`${url}/resp_unknown?stream=true`, 'GET'), 400, 'stream');
      assertError(await send(url, 'GET'), 405);
      assertError(await send(`${url}/resp_unknown`, 'POST', {}), 405);
    });
  });
});
