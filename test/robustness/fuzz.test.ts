// Seeded fuzzing of every public route, on the embedded server (stories260K) and on a gateway with auth and sim
// replicas: no 5xx, no hang, every error in its route's dialect (OpenAI's shape, Anthropic's on /v1/messages), and the server still answers a normal request afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer, type RunningServer } from '../../src/server/index.js';
import { until } from '../support/processes.js';
import { startServer } from '../support/server.js';
import { deepNestingCases, malformedJsonCases, oddContentCases, wrongTypeCases, type Target } from './body-cases.js';
import type { FuzzCase } from './fuzz-case.js';
import { randomFor, runCases, seed, slowTimeouts, CASE_LIMIT_MS } from './fuzz-run.js';
import {
  authCases,
  contentTypeCases,
  garbageCases,
  headerCases,
  methodCases,
  sizeCases,
  slowCases,
  staticAssetCases,
  traversalCases,
  urlCases,
  websocketHandshakeCases,
} from './http-cases.js';
import { exchange, httpRequest } from './raw-http.js';
import { adminBodyCases, adminQueryCases } from './admin-cases.js';
import { fuzzSocket, oversizedMessage, wsMessages } from './ws-messages.js';
import { anthropicHttpCases, anthropicKeyCases, anthropicOddContentCases, anthropicWrongTypeCases } from './anthropic-cases.js';
import { responsesBodyCases, responsesIdCases } from './responses-cases.js';

const BODY_LIMIT = 1024 * 1024;

interface Subject {
  name: string;
  port: () => number;
  target: Target;
  url: () => string;
}

/** The categories every server gets, one test each so a failure names its category. */
function fuzzCategories(subject: Subject, extra: [string, (t: Target) => FuzzCase[]][] = []) {
  const categories: [string, (t: Target) => FuzzCase[]][] = [
    ['malformed JSON', (t) => malformedJsonCases(randomFor('malformed JSON'), t)],
    ['wrong types per field', (t) => wrongTypeCases(randomFor('wrong types per field'), t)],
    ['odd content parts', oddContentCases],
    ['deep nesting', deepNestingCases],
    ['methods', methodCases],
    ['content types', contentTypeCases],
    ['sizes', (t) => sizeCases(t, BODY_LIMIT)],
    ['headers', (t) => headerCases(randomFor('headers'), t)],
    ['URLs', (t) => urlCases(randomFor('URLs'), t)],
    ['traversal', () => traversalCases()],
    ['static assets', () => staticAssetCases()],
    ['bytes that are not HTTP', () => garbageCases(randomFor('garbage'))],
    ['WebSocket handshakes', websocketHandshakeCases],
    ['Responses bodies', (t) => responsesBodyCases(randomFor('Responses bodies'), t)],
    ['Responses ids', responsesIdCases],
    ['Anthropic Messages: wrong types per field', (t) => anthropicWrongTypeCases(randomFor('anthropic wrong types'), t)],
    ['Anthropic Messages: odd content blocks', anthropicOddContentCases],
    ['Anthropic Messages: JSON, nesting, methods, media types', anthropicHttpCases],
    ...extra,
  ];
  for (const [category, make] of categories) {
    it(`${category}: no 5xx, no hang, every error in its route's shape`, async (t) => {
      await runCases(t, subject.port(), subject.name, category, make(subject.target));
    });
  }

  it('WebSocket messages: each answered and [DONE], never a server error', async () => {
    const url = `${subject.url().replace('http', 'ws')}/v1/ws`;
    const headers = Object.fromEntries(subject.target.inference);
    const failures = await fuzzSocket(url, headers, wsMessages(randomFor('ws'), subject.target.model), CASE_LIMIT_MS);
    assert.deepEqual(failures, [], `seed ${seed} (replay with FUZZ_SEED=${seed})`);
    assert.equal(await oversizedMessage(url, headers, BODY_LIMIT + 1024, CASE_LIMIT_MS), 1009, 'a message past the limit closes with 1009');
  });

  it('slow bodies and headers: answered or closed in time', async (t) => {
    assert.ok(slowTimeouts, 'the server settings offer header and body timeouts (headersTimeoutSeconds, bodyTimeoutSeconds) to shorten here');
    // All at once: each only waits for the server to give up on it.
    const cases = slowCases(subject.target, slowTimeouts.limitMs);
    await runCases(t, subject.port(), subject.name, 'slow clients', cases, cases.length);
  });

  it('still serves a normal request afterwards, and nothing leaked into Object.prototype', async () => {
    const body = JSON.stringify({ model: subject.target.model, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8 });
    const outcome = await exchange(subject.port(), {
      limitMs: CASE_LIMIT_MS,
      pieces: [httpRequest('POST', '/v1/chat/completions', { headers: [['Content-Type', 'application/json'], ...subject.target.inference], body })],
    });
    assert.equal(outcome.kind, 'response');
    const response = outcome.kind === 'response' ? outcome.response : undefined;
    assert.equal(response?.status, 200, response?.body.toString());
    const answer = JSON.parse(response!.body.toString()) as { choices: { message: { content: string } }[] };
    assert.ok(answer.choices[0]!.message.content.length > 0, 'the answer has text');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched');
  });
}

describe('fuzz: the embedded server on stories260K', { concurrency: false }, () => {
  let server: RunningServer;
  const subject: Subject = {
    name: 'embedded server',
    port: () => Number(new URL(server.url).port),
    url: () => server.url,
    target: { model: 'stories260K', inference: [], admin: [] },
  };
  before(async () => {
    // A short context bounds every answer, also those of requests that (validly) ask for no max_tokens.
    server = await startServer({ parallel: 4, contextSize: 512 }, { server: { bodyLimitBytes: BODY_LIMIT, ...slowTimeouts?.settings } });
  });
  after(() => server?.close());

  fuzzCategories(subject);

  it('leaves no sequence busy once every client is gone', async () => {
    const busy = async () => {
      const o = await exchange(subject.port(), { limitMs: CASE_LIMIT_MS, pieces: [httpRequest('GET', '/metrics')] });
      return o.kind === 'response' ? Number(/^autoglm_busy_sequences\{[^}]*\} (\d+)/m.exec(o.response.body.toString())?.[1]) : NaN;
    };
    await until(async () => (await busy()) === 0, 20_000, 100);
  });
});

describe('fuzz: a gateway with auth on and sim replicas', { concurrency: false }, () => {
  let gateway: GatewayServer;
  const target: Target = { model: 'chat', inference: [], admin: [] };
  const subject: Subject = { name: 'gateway', port: () => Number(new URL(gateway.url).port), url: () => gateway.url, target };
  before(async () => {
    gateway = await serveGateway(
      parseGatewayConfig(`
server: { bodyLimitBytes: ${BODY_LIMIT} }
auth: { enabled: true }
database: ':memory:'
tenants: { acme: {}, fuzz: {} }
models:
  chat@v1: { replicas: [{ type: sim, id: blue, preset: instant, outputTokens: 8 }, { type: sim, id: blue2, preset: instant, outputTokens: 8 }] }
  chat@v2: { replicas: [{ type: sim, id: green, preset: instant, outputTokens: 8 }] }
releases:
  chat: { stable: v1, canary: { version: v2, steps: [50, 100], holdSeconds: 600 } }
`),
      { serverOverrides: { port: 0, ...slowTimeouts?.settings } },
    );
    const inference = gateway.tenancy.store.createKey({ tenant: 'acme', scopes: ['inference'], name: 'fuzz inference' }).key;
    const admin = gateway.tenancy.store.createKey({ tenant: 'acme', scopes: ['admin'], name: 'fuzz admin' }).key;
    target.inference.push(['Authorization', `Bearer ${inference}`]);
    target.admin.push(['Authorization', `Bearer ${admin}`]);
  });
  after(() => gateway?.close());

  fuzzCategories(subject, [
    ['keys and scopes', authCases],
    ['Anthropic Messages: keys', anthropicKeyCases],
    ['admin bodies', (t) => adminBodyCases(randomFor('admin bodies'), t)],
    ['admin queries', (t) => adminQueryCases(randomFor('admin queries'), t)],
  ]);
});
