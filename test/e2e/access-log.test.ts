// The server's log, as the people running it read it: one line per request with who, what and what it cost; client
// errors, "model still loading" and hang-ups at info without a stack; a real server failure once, at error, with the
// request id; never an API key. Then the CLI's --log-format json and pretty.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { request } from 'undici';
import { SimEngine } from '../../src/engines/sim/index.js';
import { startServer, type RunningServer, type ServedModels } from '../../src/server/index.js';
import { runCli, until, type CliProcess } from '../support/processes.js';
import { rawRequest } from '../support/raw-http.js';
import { modelMirror } from '../support/server.js';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  method?: string;
  route?: string;
  status?: number;
  ms?: number;
  tenant?: string;
  key?: string;
  model?: string;
  promptTokens?: number;
  completionTokens?: number;
  cache?: string;
  error?: string;
  closed?: string;
  [field: string]: unknown;
}

describe('access log', () => {
  const raw: string[] = [];
  const lines: Line[] = [];
  const engine = new SimEngine({ model: 'sim', preset: 'instant', overheadMs: 300, outputTokens: 4 });
  let loaded!: () => void;
  let starting: Promise<RunningServer<ServedModels>>;
  let server: RunningServer<ServedModels>;
  let url: string;
  let key: string;

  const lineFor = async (reqId: string): Promise<Line> => {
    await until(() => lines.some((l) => l.reqId === reqId), 10_000);
    const mine = lines.filter((l) => l.reqId === reqId);
    assert.equal(mine.length, 1, `one line for ${reqId}: ${JSON.stringify(mine)}`);
    return mine[0]!;
  };
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    request(`${url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers } });
  const chat = (over: Record<string, unknown> = {}) => JSON.stringify({ model: 'sim', messages: [{ role: 'user', content: 'hi' }], temperature: 0, ...over });
  /** No stack trace: neither an err object nor a stack string anywhere in the line. */
  const assertNoStack = (line: Line) => {
    assert.equal(line.err, undefined, JSON.stringify(line));
    assert.doesNotMatch(JSON.stringify(line), /\n\s+at |"stack"/, JSON.stringify(line));
  };

  before(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        raw.push(String(chunk));
        lines.push(JSON.parse(String(chunk)) as Line);
        done();
      },
    });
    const gate = new Promise<void>((resolve) => (loaded = resolve));
    starting = startServer({
      server: { port: 0 },
      logger: pino({ level: 'info' }, sink),
      tenancy: { auth: { enabled: true }, database: ':memory:', tenants: { acme: {} }, cache: {} },
      load: async ({ tenancy }) => {
        key = tenancy.store.createKey({ tenant: 'acme', scopes: ['inference'] }).key;
        await gate;
        return { model: engine, defaultModel: 'sim', gauges: [], dispose: async () => undefined };
      },
    });
    await until(() => lines.some((l) => /listening at http/.test(l.msg)) && key !== undefined, 20_000);
    url = /(http:\/\/[\d.]+:\d+)/.exec(lines.find((l) => /listening at http/.test(l.msg))!.msg)![1]!;
  });
  after(async () => {
    loaded?.();
    await (server ?? (await starting)).close();
  });

  it('a request while the model loads: 503 model_loading, an info line, no stack', async () => {
    const res = await post('/v1/chat/completions', chat());
    assert.equal(res.statusCode, 503);
    await res.body.dump();
    const line = await lineFor(String(res.headers['x-request-id']));
    assert.equal(line.level, 30);
    assert.equal(line.status, 503);
    assert.equal(line.error, 'model_loading');
    assertNoStack(line);
    const ready = await request(`${url}/ready`);
    assert.equal(ready.statusCode, 503);
    assert.equal(ready.headers['retry-after'], '2');
    assert.equal(((await ready.body.json()) as { error: { code: string } }).error.code, 'model_loading', '/ready says so in the same shape');
    assert.equal((await lineFor(String(ready.headers['x-request-id']))).level, 30);
    loaded();
    server = await starting;
  });

  it('a 200: method, route, status, duration, request id, tenant, key id, model, tokens and cache status', async () => {
    const first = await post('/v1/chat/completions', chat());
    assert.equal(first.statusCode, 200);
    await first.body.dump();
    const line = await lineFor(String(first.headers['x-request-id']));
    assert.equal(line.level, 30);
    assert.equal(line.msg, 'request');
    assert.equal(line.method, 'POST');
    assert.equal(line.route, '/v1/chat/completions');
    assert.equal(line.status, 200);
    assert.ok(typeof line.ms === 'number' && line.ms >= 300, `duration ${line.ms} includes the model's 300 ms`);
    assert.equal(line.tenant, 'acme');
    assert.match(String(line.key), /^[0-9a-f]{12}$/, 'the key by its id');
    assert.equal(line.model, 'sim');
    assert.ok((line.promptTokens ?? 0) > 0, `prompt tokens ${line.promptTokens}`);
    assert.equal(line.completionTokens, 4);
    assert.equal(line.cache, 'miss');
    const again = await post('/v1/chat/completions', chat(), { 'x-request-id': 'trace-again' });
    await again.body.dump();
    assert.equal((await lineFor('trace-again')).cache, 'hit');
  });

  it('a streamed 200 carries its tokens too', async () => {
    const res = await post('/v1/chat/completions', chat({ stream: true, temperature: 1 }));
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    const line = await lineFor(String(res.headers['x-request-id']));
    assert.equal(line.status, 200);
    assert.equal(line.completionTokens, 4);
  });

  it('a 400 and a 404: info lines naming the error, no stack', async () => {
    const bad = await post('/v1/chat/completions', '{"model": ');
    assert.equal(bad.statusCode, 400);
    await bad.body.dump();
    const badLine = await lineFor(String(bad.headers['x-request-id']));
    assert.deepEqual([badLine.level, badLine.status, badLine.error], [30, 400, 'invalid_json']);
    assertNoStack(badLine);

    const missing = await request(`${url}/v1/nothing?api_key=in-the-query`);
    assert.equal(missing.statusCode, 404);
    await missing.body.dump();
    const missingLine = await lineFor(String(missing.headers['x-request-id']));
    assert.deepEqual([missingLine.level, missingLine.status, missingLine.error, missingLine.route], [30, 404, 'unknown_url', '/v1/nothing']);
    assertNoStack(missingLine);
  });

  it('bytes that are not HTTP: an info line saying what was answered, no stack', async () => {
    const answer = await rawRequest(Number(new URL(url).port), 'NOT HTTP AT ALL\r\n\r\n');
    assert.equal(answer.status, 400);
    await until(() => lines.some((l) => l.msg === 'unreadable request'), 10_000);
    const line = lines.find((l) => l.msg === 'unreadable request')!;
    assert.deepEqual([line.level, line.status, line.error], [30, 400, 'malformed_request']);
    assertNoStack(line);
  });

  it('a client that hangs up: an info line with 499, no stack', async () => {
    const gone = new AbortController();
    const rejected = assert.rejects(
      request(`${url}/v1/chat/completions`, {
        method: 'POST',
        signal: gone.signal,
        body: chat({ temperature: 1, seed: 7 }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-request-id': 'walked-away' },
      }),
    );
    setTimeout(() => gone.abort(), 50);
    await rejected;
    const line = await lineFor('walked-away');
    assert.deepEqual([line.level, line.status, line.closed], [30, 499, 'client']);
    assertNoStack(line);
  });

  it('a real server failure: one line at error, with the request id and what failed', async () => {
    engine.setFaults({ errorRate: 1 });
    try {
      const res = await post('/v1/chat/completions', chat({ temperature: 1 }), { 'x-request-id': 'broken-1' });
      assert.equal(res.statusCode, 500);
      await res.body.dump();
    } finally {
      engine.setFaults({ errorRate: 0 });
    }
    const line = await lineFor('broken-1');
    assert.equal(line.level, 50);
    assert.equal(line.status, 500);
    assert.equal(line.error, 'sim_injected_error');
    assert.match(String(line.message), /Simulated upstream failure/);
  });

  it('a wrong key is a 401 info line; no API key appears anywhere in the log', async () => {
    const wrong = 'agk_0123456789ab_not-a-real-secret-at-all';
    const res = await post('/v1/chat/completions', chat(), { authorization: `Bearer ${wrong}`, 'x-request-id': 'wrong-key' });
    assert.equal(res.statusCode, 401);
    await res.body.dump();
    const line = await lineFor('wrong-key');
    assert.deepEqual([line.level, line.status], [30, 401]);
    const all = raw.join('');
    assert.ok(!all.includes(key), 'the real key is not logged');
    assert.ok(!all.includes(key.slice('agk_0123456789ab_'.length)), "the key's secret part is not logged");
    assert.ok(!all.includes('not-a-real-secret-at-all'), 'a wrong key is not logged');
    assert.ok(!all.includes('in-the-query'), 'query strings are not logged');
    assert.deepEqual(
      lines.filter((l) => l.level >= 50).map((l) => l.reqId),
      ['broken-1'],
      'only the real failure is an error',
    );
  });
});

describe('serve --log-format', () => {
  const procs: CliProcess[] = [];
  after(() => {
    for (const p of procs) p.child.kill('SIGKILL');
  });

  async function serve(format: string): Promise<{ proc: CliProcess; url: string }> {
    const proc = runCli(['serve', '--port', '0', '--threads', '1', '--parallel', '1', '--log-level', 'info', '--log-format', format], {
      ...process.env,
      AUTOGLM_MODEL_MIRROR: modelMirror,
    });
    procs.push(proc);
    await until(() => /Ctrl-C/.test(proc.out()) || proc.child.exitCode !== null, 60_000);
    const url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(proc.out())?.[1];
    assert.ok(url, `serve started: ${proc.err()}`);
    const res = await request(`${url}/v1/nothing`, { headers: { 'x-request-id': `probe-${format}` } });
    await res.body.dump();
    await until(() => proc.err().includes(`probe-${format}`), 10_000);
    return { proc, url };
  }

  it('json: one JSON object per line, the access line among them', async () => {
    const { proc } = await serve('json');
    const access = proc
      .err()
      .split('\n')
      .filter((l) => l.includes('probe-json'));
    assert.equal(access.length, 1, proc.err());
    const line = JSON.parse(access[0]!) as Line;
    assert.deepEqual([line.level, line.method, line.route, line.status], [30, 'GET', '/v1/nothing', 404]);
  });

  it('pretty: one readable line per request', async () => {
    const { proc } = await serve('pretty');
    const access = proc
      .err()
      .split('\n')
      .filter((l) => l.includes('probe-pretty'));
    assert.equal(access.length, 1, proc.err());
    assert.match(access[0]!, /INFO.*GET \/v1\/nothing 404 [\d.]+ms/, access[0]);
    assert.throws(() => JSON.parse(access[0]!), 'not JSON');
  });

  it('an unknown format is refused in one line', async () => {
    const proc = runCli(['serve', '--log-format', 'xml']);
    assert.notEqual(await proc.exited, 0);
    assert.match(proc.err(), /--log-format.*xml.*json, pretty/);
  });
});
