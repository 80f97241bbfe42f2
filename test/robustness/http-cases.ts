// Fuzz cases at the HTTP layer: methods, content types, sizes, headers, URLs, traversal, static assets, bytes that are
// not HTTP, WebSocket handshakes, and clients that stall.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Random } from '../../src/core/index.js';
import { bases, pick, type Target } from './body-cases.js';
import { clientError, statusIn, type FuzzCase } from './fuzz-case.js';
import { httpRequest, type Piece } from './raw-http.js';

interface Route {
  path: string;
  methods: string[];
  scope?: 'inference' | 'admin';
  /** A valid JSON body for its POST or PUT. */
  body?: unknown;
}

/** Every public route, with a path that exists on both servers the suite starts. */
export function routes(model: string): Route[] {
  const b = bases(model);
  return [
    { path: '/v1/models', methods: ['GET'], scope: 'inference' },
    { path: `/v1/models/${model}`, methods: ['GET'], scope: 'inference' },
    { path: '/v1/chat/completions', methods: ['POST'], scope: 'inference', body: b.chat },
    { path: '/v1/completions', methods: ['POST'], scope: 'inference', body: b.completion },
    { path: '/infer', methods: ['POST'], scope: 'inference', body: b.infer },
    { path: '/v1/ws', methods: ['GET'], scope: 'inference' },
    { path: '/v1/responses', methods: ['POST'], scope: 'inference', body: { model, input: 'Once upon a time', max_output_tokens: 4, store: false } },
    { path: '/v1/responses/resp_nosuch', methods: ['GET', 'DELETE'], scope: 'inference' },
    { path: '/v1/feedback', methods: ['POST'], scope: 'inference', body: { request_id: 'req_nosuch', score: 1 } },
    { path: '/health', methods: ['GET'] },
    { path: '/ready', methods: ['GET'] },
    { path: '/metrics', methods: ['GET'] },
    { path: '/admin/tenants', methods: ['GET', 'POST'], scope: 'admin', body: { id: 'fuzz-made' } },
    { path: '/admin/tenants/fuzz', methods: ['PUT'], scope: 'admin', body: { limits: {} } },
    { path: '/admin/keys', methods: ['GET', 'POST'], scope: 'admin', body: { tenant: 'fuzz', name: 'made by the fuzzer' } },
    { path: '/admin/keys/nosuchkey', methods: ['DELETE'], scope: 'admin' },
    { path: '/admin/usage', methods: ['GET'], scope: 'admin' },
    { path: '/admin/rollouts', methods: ['GET'], scope: 'admin' },
    { path: '/admin/rollouts/chat', methods: ['GET'], scope: 'admin' },
    { path: '/admin/stats', methods: ['GET'], scope: 'admin' },
    { path: '/admin/config', methods: ['GET'], scope: 'admin' },
    { path: '/admin/reload', methods: ['POST'], scope: 'admin', body: {} },
    { path: '/admin/prompts', methods: ['GET', 'POST'], scope: 'admin', body: { name: 'fuzz-made', instructions: 'Answer briefly.' } },
    { path: '/admin/prompts/nosuch', methods: ['GET', 'DELETE'], scope: 'admin' },
    { path: '/ui', methods: ['GET'] },
    { path: '/ui/', methods: ['GET'] },
  ];
}

const authOf = (target: Target, route: Route) => (route.scope === 'admin' ? target.admin : route.scope === 'inference' ? target.inference : []);
const jsonHeaders = (target: Target, route: Route): [string, string][] => [['Content-Type', 'application/json'], ...authOf(target, route)];

/** Every method on every route: a method a route does not take is a 404 or 405, never a 5xx. */
export function methodCases(target: Target): FuzzCase[] {
  const cases: FuzzCase[] = [];
  for (const route of routes(target.model)) {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE']) {
      const taken = route.methods.includes(method) || (method === 'HEAD' && route.methods.includes('GET'));
      // Promoting or aborting a rollout, or reloading, is left to the method the route takes.
      const body = method === 'GET' || method === 'HEAD' || method === 'TRACE' ? undefined : JSON.stringify(route.body ?? {});
      cases.push({
        name: `${method} ${route.path}`,
        head: method === 'HEAD',
        pieces: [httpRequest(method, route.path, { headers: body === undefined ? authOf(target, route) : jsonHeaders(target, route), body })],
        expect: taken ? undefined : statusIn(404, 405),
      });
    }
    if (route.methods.includes('POST')) {
      cases.push({
        name: `POST ${route.path} with no body`,
        pieces: [httpRequest('POST', route.path, { headers: authOf(target, route) })],
        expect: clientError,
      });
      cases.push({
        name: `POST ${route.path} with JSON type and no body`,
        pieces: [httpRequest('POST', route.path, { headers: [...jsonHeaders(target, route), ['Content-Length', '0']] })],
        expect: clientError,
      });
    }
  }
  return cases;
}

/** Every JSON route with bodies labelled as something else: a 415 or 400, or served when the type is JSON after all. */
export function contentTypeCases(target: Target): FuzzCase[] {
  const types = [
    '',
    ' ',
    'text/plain',
    'text/html',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/json; charset=utf-16',
    'APPLICATION/JSON',
    'application/json;;;',
    'application/jsonx',
    'application/json, text/plain',
    'application/vnd.api+json',
    'application/octet-stream',
    '*/*',
    `application/json; charset=${'x'.repeat(2000)}`,
  ];
  const cases: FuzzCase[] = [];
  for (const route of routes(target.model).filter((r) => r.body !== undefined && !r.path.startsWith('/admin/reload'))) {
    const method = route.methods.find((m) => m !== 'GET')!;
    for (const type of types) {
      cases.push({
        name: `${method} ${route.path} as ${JSON.stringify(type.slice(0, 60))}`,
        pieces: [httpRequest(method, route.path, { headers: [['Content-Type', type], ...authOf(target, route)], body: JSON.stringify(route.body) })],
      });
    }
    cases.push({
      name: `${method} ${route.path} with no content-type`,
      pieces: [httpRequest(method, route.path, { headers: authOf(target, route), body: JSON.stringify(route.body) })],
      expect: clientError,
    });
  }
  return cases;
}

/** Bodies past the limit (declared, chunked, lied about), bodies of zero length, and pipelined extra bytes. */
export function sizeCases(target: Target, bodyLimitBytes: number): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const b = bases(target.model);
  for (const route of routes(target.model).filter((r) => r.body !== undefined)) {
    const method = route.methods.find((m) => m !== 'GET')!;
    const headers = jsonHeaders(target, route);
    const huge = JSON.stringify({ ...(route.body as object), padding: 'x'.repeat(bodyLimitBytes + 1024) });
    cases.push({
      name: `${method} ${route.path} with a body past the limit`,
      pieces: [httpRequest(method, route.path, { headers, body: huge })],
      expect: statusIn(413),
    });
    // Chunked, no length: the server only learns the size while reading.
    const chunks = [`${(huge.length).toString(16)}\r\n${huge}\r\n0\r\n\r\n`];
    cases.push({
      name: `${method} ${route.path} with a chunked body past the limit`,
      pieces: [httpRequest(method, route.path, { headers: [...headers, ['Transfer-Encoding', 'chunked']] }), ...chunks],
      expect: statusIn(413),
    });
    // A length past the limit is refused from the header alone, before any body arrives.
    cases.push({
      name: `${method} ${route.path} declaring a length past the limit`,
      pieces: [httpRequest(method, route.path, { headers: [...headers, ['Content-Length', String(bodyLimitBytes * 4)]] })],
      expect: statusIn(413),
    });
    const body = JSON.stringify(route.body);
    cases.push({
      name: `${method} ${route.path} with a chunked body`,
      pieces: [
        httpRequest(method, route.path, { headers: [...headers, ['Transfer-Encoding', 'chunked']] }),
        `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      ],
    });
    cases.push({
      name: `${method} ${route.path} with a body longer than its length`,
      mayClose: true,
      pieces: [httpRequest(method, route.path, { headers: [...headers, ['Content-Length', String(Math.floor(body.length / 2))]] }), body],
    });
  }
  // Big bodies inside the limit that the engine has to read: a long prompt, many messages.
  const near = Math.floor(bodyLimitBytes * 0.6);
  cases.push({
    name: 'POST /v1/chat/completions with a message near the body limit',
    pieces: [
      httpRequest('POST', '/v1/chat/completions', {
        headers: [['Content-Type', 'application/json'], ...target.inference],
        body: JSON.stringify({ ...b.chat, messages: [{ role: 'user', content: 'Once '.repeat(near / 5) }] }),
      }),
    ],
  });
  cases.push({
    name: 'POST /v1/completions with stop words near the body limit',
    pieces: [
      httpRequest('POST', '/v1/completions', {
        headers: [['Content-Type', 'application/json'], ...target.inference],
        body: JSON.stringify({ ...b.completion, stop: ['x'.repeat(near)] }),
      }),
    ],
  });
  return cases;
}

/** Headers: too long, too many, broken, and odd values in the ones the server reads. */
export function headerCases(rng: Random, target: Target): FuzzCase[] {
  const chat = routes(target.model)[2]!;
  const body = JSON.stringify(chat.body);
  const post = (name: string, headers: [string, string][], expect?: FuzzCase['expect'], mayClose = false): FuzzCase => ({
    name: `POST /v1/chat/completions with ${name}`,
    mayClose,
    expect,
    pieces: [httpRequest('POST', '/v1/chat/completions', { headers: [...jsonHeaders(target, chat), ...headers], body })],
  });
  const get = (name: string, headers: [string, string][], expect?: FuzzCase['expect']): FuzzCase => ({
    name: `GET /v1/models with ${name}`,
    expect,
    pieces: [httpRequest('GET', '/v1/models', { headers: [...target.inference, ...headers] })],
  });
  const randomValue = () => Array.from({ length: 1 + Math.floor(rng.next() * 60) }, () => String.fromCharCode(0x20 + Math.floor(rng.next() * 0x5f))).join('');
  return [
    post('one 20 KB header', [['X-Big', 'a'.repeat(20_000)]], statusIn(431)),
    get('one 20 KB header', [['X-Big', 'a'.repeat(20_000)]], statusIn(431)),
    post(
      '200 headers of 100 bytes',
      Array.from({ length: 200 }, (_, i) => [`X-H${i}`, 'b'.repeat(100)] as [string, string]),
      statusIn(431),
    ),
    post(
      '1500 tiny headers',
      Array.from({ length: 1500 }, (_, i) => [`X-${i}`, 'c'] as [string, string]),
    ),
    post('a 10 KB x-request-id', [['X-Request-Id', 'r'.repeat(10_000)]]),
    post('an x-request-id with odd characters', [['X-Request-Id', '../../"><script>\u00ff']]),
    post('three x-request-ids', [
      ['X-Request-Id', 'a'],
      ['X-Request-Id', 'b'],
      ['X-Request-Id', 'c'],
    ]),
    post('an empty header name', [['', 'x']], clientError, true),
    post('a header with a control character', [['X-Bad', 'a\u0001b']], clientError, true),
    post('a folded header', [['X-Folded', 'first\r\n second']], undefined, true),
    {
      name: 'POST /v1/chat/completions with two different content-lengths',
      mayClose: true,
      expect: clientError,
      pieces: [
        httpRequest('POST', '/v1/chat/completions', {
          headers: [...jsonHeaders(target, chat), ['Content-Length', String(body.length)], ['Content-Length', '5']],
          body,
        }),
      ],
    },
    post('an accept-encoding of gzip only', [['Accept-Encoding', 'gzip;q=1, identity;q=0']]),
    post('an 8 KB accept header', [['Accept', 'text/event-stream, '.repeat(400)]]),
    post('a random x-session-id', [['X-Session-Id', randomValue()]]),
    post('a random traceparent', [['Traceparent', randomValue()]]),
    post(
      'random header names',
      Array.from({ length: 20 }, () => [`X-${randomValue().replace(/[^A-Za-z0-9-]/g, '')}a`, randomValue()] as [string, string]),
    ),
    get('an If-None-Match of 4 KB', [['If-None-Match', '"x", '.repeat(800)]]),
  ];
}

/** URLs: too long, too deep, badly encoded, with odd queries, and request targets that are not paths. */
export function urlCases(rng: Random, target: Target): FuzzCase[] {
  const auth = target.inference;
  const get = (path: string, name = path.slice(0, 80), expect?: FuzzCase['expect'], mayClose = false): FuzzCase => ({
    name: `GET ${name}`,
    expect,
    mayClose,
    pieces: [httpRequest('GET', path, { headers: auth })],
  });
  const randomPath = () =>
    `/${Array.from({ length: 1 + Math.floor(rng.next() * 40) }, () => pick(rng, [..."abcxyz019-._~!$&'()*+,;=:@/%", '%00', '%ff', '%2F', '..', '//'])).join('')}`;
  const cases = [
    get(`/v1/models/${'a'.repeat(300)}`, 'a 300-character model id', clientError),
    get(`/v1/models/${'a'.repeat(5000)}`, 'a 5000-character model id', clientError),
    get(`/health?${'q'.repeat(8000)}`, 'an 8 KB query'),
    get(`/v1/models?${'q=1&'.repeat(3000)}`, '3000 query parameters'),
    get(`/health?${'q'.repeat(20_000)}`, 'a 20 KB query', statusIn(414, 431)),
    get(`/${'a/'.repeat(3000)}`, '3000 path segments', statusIn(404, 414)),
    get('/v1/models/%zz', '/v1/models/%zz', clientError),
    get('/v1/models/%', '/v1/models/%', clientError),
    get('/v1/models/%00', '/v1/models/%00', clientError),
    get('/v1/models/%c0%af', '/v1/models/%c0%af (overlong UTF-8)', clientError),
    get('/health?%zz=%', '/health with a badly encoded query'),
    get('/admin/usage?from=%zz', '/admin/usage with a badly encoded query'),
    get('/v1/models?x=1#fragment', 'a fragment'),
    get('http://evil.example/health', 'an absolute URL'),
    get('//health', 'a doubled slash'),
    get('/HEALTH', 'upper case'),
    get('/health/', 'a trailing slash'),
    get('/health;jsessionid=1', 'a path parameter'),
    { name: 'OPTIONS *', pieces: [httpRequest('OPTIONS', '*')] } satisfies FuzzCase,
    {
      name: 'GET with a raw 0xff in the path',
      mayClose: true,
      expect: clientError,
      pieces: [Buffer.concat([Buffer.from('GET /v1/models/'), Buffer.from([0xff]), Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')])],
    } satisfies FuzzCase,
  ];
  for (let i = 0; i < 12; i++) cases.push(get(randomPath()));
  return cases;
}

const UI_ROOT = join(import.meta.dirname, '../../dist/web/ui');

/** Paths that climb out of the dashboard's folder, raw and encoded every way a naive decoder would follow. */
export function traversalCases(): FuzzCase[] {
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n')[0]!;
  const packageJson = readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8').slice(0, 60);
  const climbs = [
    '../',
    '..%2f',
    '%2e%2e/',
    '%2e%2e%2f',
    '..%5c',
    '%252e%252e%252f',
    '....//',
    '..;/',
    '%c0%ae%c0%ae/',
    '.%2e/',
    '..\\',
    '%u002e%u002e/',
    '..%00/',
  ];
  const cases: FuzzCase[] = [];
  for (const prefix of ['/ui/', '/ui', '/', '/v1/models/', '/admin/', '/ui/assets/']) {
    for (const climb of climbs) {
      for (const [file, depth, secret] of [
        ['etc/passwd', 8, passwd],
        ['package.json', 3, packageJson],
      ] as const) {
        const path = `${prefix}${climb.repeat(depth)}${file}`;
        cases.push({
          name: `GET ${path}`,
          mayClose: climb.includes('\\'),
          pieces: [httpRequest('GET', path)],
          expect: (r) => {
            if (r.body.includes(secret)) return `answered ${r.status} with the contents of ${file}`;
            return r.status >= 200 && r.status < 300 ? `answered ${r.status} to a path outside the dashboard` : undefined;
          },
        });
      }
    }
  }
  return cases;
}

/** The dashboard's real assets, served whole and in ranges; nothing else under /ui. */
export function staticAssetCases(): FuzzCase[] {
  let files: string[];
  try {
    files = readdirSync(UI_ROOT);
  } catch {
    return [];
  }
  const cases: FuzzCase[] = [];
  for (const file of files) {
    const content = readFileSync(join(UI_ROOT, file));
    cases.push({
      name: `GET /ui/${file}`,
      pieces: [httpRequest('GET', `/ui/${file}`)],
      expect: (r) => (r.status === 200 && r.body.equals(content) ? undefined : `expected the file, got ${r.status} with ${r.body.length} bytes`),
    });
    cases.push({ name: `HEAD /ui/${file}`, head: true, pieces: [httpRequest('HEAD', `/ui/${file}`)], expect: statusIn(200) });
    cases.push({
      name: `GET /ui/${file} bytes=0-9`,
      pieces: [httpRequest('GET', `/ui/${file}`, { headers: [['Range', 'bytes=0-9']] })],
      expect: statusIn(206, 200),
    });
    cases.push({
      name: `GET /ui/${file} past its end`,
      pieces: [httpRequest('GET', `/ui/${file}`, { headers: [['Range', `bytes=${content.length + 10}-`]] })],
      expect: statusIn(416, 200),
    });
    cases.push({ name: `GET /ui/${file} with a garbage range`, pieces: [httpRequest('GET', `/ui/${file}`, { headers: [['Range', 'bytes=abc-def, 9-1']] })] });
    cases.push({
      name: `GET /ui/${file} with a garbage If-Modified-Since`,
      pieces: [httpRequest('GET', `/ui/${file}`, { headers: [['If-Modified-Since', 'yesterday']] })],
      expect: statusIn(200),
    });
    cases.push({ name: `GET /ui/${file}.map`, pieces: [httpRequest('GET', `/ui/${file}.map`)], expect: statusIn(404) });
  }
  for (const path of ['/ui/nothing.js', '/ui/.env', '/ui/.git/config', '/ui/index.html/', '/ui/index.html%00.js', '/ui/~root']) {
    cases.push({ name: `GET ${path}`, pieces: [httpRequest('GET', path)], expect: clientError });
  }
  return cases;
}

/** Bytes that are not (valid) HTTP/1.1: a close is acceptable, an answer must be a 4xx in OpenAI's shape. */
export function garbageCases(rng: Random): FuzzCase[] {
  const raw = (name: string, bytes: string | Buffer): FuzzCase => ({ name, mayClose: true, expect: clientError, pieces: [bytes] });
  const cases = [
    raw('a line that is not a request', 'HELLO WORLD\r\n\r\n'),
    raw('an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    raw('HTTP/9.9', 'GET /health HTTP/9.9\r\nHost: x\r\n\r\n'),
    raw('an unknown method', 'FROB /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    raw('bare line feeds', 'GET /health HTTP/1.1\nHost: x\nConnection: close\n\n'),
    raw('a space in the path', 'GET /he alth HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    raw(
      'a non-numeric content-length',
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\nConnection: close\r\n\r\n{}',
    ),
    raw(
      'a negative content-length',
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -5\r\nConnection: close\r\n\r\n{}',
    ),
    raw(
      'content-length and chunked together',
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n',
    ),
    raw(
      'a bad chunk size',
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    ),
    raw(
      'a chunk size past 2^64',
      'POST /infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nffffffffffffffffff\r\n{}\r\n',
    ),
    raw(
      'an unknown transfer-encoding',
      'POST /infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n{}',
    ),
    raw('HTTP/1.1 without a Host', 'GET /health HTTP/1.1\r\nConnection: close\r\n\r\n'),
    raw('a NUL in the request line', 'GET /health\u0000 HTTP/1.1\r\nHost: x\r\n\r\n'),
    { name: 'HTTP/1.0 without a Host', pieces: ['GET /health HTTP/1.0\r\n\r\n'], expect: statusIn(200, 400) },
  ];
  for (let i = 0; i < 6; i++) {
    const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rng.next() * 200) }, () => Math.floor(rng.next() * 256)));
    cases.push(raw(`${bytes.length} random bytes then a blank line`, Buffer.concat([bytes, Buffer.from('\r\n\r\n')])));
  }
  return cases;
}

/** WebSocket handshakes gone wrong; a good one is answered 101. */
export function websocketHandshakeCases(target: Target): FuzzCase[] {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const upgrade = (name: string, headers: [string, string][], expect: FuzzCase['expect'] = clientError, method = 'GET'): FuzzCase => ({
    name: `${method} /v1/ws ${name}`,
    expect,
    pieces: [httpRequest(method, '/v1/ws', { headers: [...target.inference, ...headers] })],
  });
  return [
    upgrade('without upgrade headers', []),
    upgrade('without a key', [
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Version', '13'],
    ]),
    upgrade('with a bad key', [
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Version', '13'],
      ['Sec-WebSocket-Key', 'bad'],
    ]),
    upgrade('with version 99', [
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Version', '99'],
      ['Sec-WebSocket-Key', key],
    ]),
    upgrade('asking for h2c', [
      ['Upgrade', 'h2c'],
      ['Connection', 'Upgrade'],
      ['HTTP2-Settings', 'AAMAAABkAARAAAAAAAIAAAAA'],
    ]),
    upgrade(
      'as a POST',
      [
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Version', '13'],
        ['Sec-WebSocket-Key', key],
      ],
      (r) => (r.status === 101 ? 'a POST was upgraded' : undefined),
      'POST',
    ),
    upgrade(
      'properly',
      [
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Version', '13'],
        ['Sec-WebSocket-Key', key],
      ],
      statusIn(101),
    ),
  ];
}

/** Clients that promise a body (or headers) and stall, or trickle it: the server must answer or close in time. */
export function slowCases(target: Target, limitMs: number): FuzzCase[] {
  const cases: FuzzCase[] = [];
  for (const route of routes(target.model).filter((r) => r.methods.includes('POST') && r.body !== undefined && !r.path.startsWith('/admin'))) {
    const headers = jsonHeaders(target, route);
    const body = JSON.stringify(route.body);
    const head = (extra: [string, string][]) => httpRequest('POST', route.path, { headers: [...headers, ...extra] });
    const trickle: Piece[] = [head([['Content-Length', String(body.length)]])];
    // One byte a second: the whole body would take minutes.
    for (const ch of body) trickle.push({ pauseMs: 1000 }, ch);
    cases.push(
      {
        name: `POST ${route.path} promising 100 bytes and sending 13`,
        mayClose: true,
        limitMs,
        pieces: [head([['Content-Length', '100']]), body.slice(0, 13)],
      },
      { name: `POST ${route.path} trickling its body a byte a second`, mayClose: true, limitMs, pieces: trickle },
      {
        name: `POST ${route.path} chunked without the last chunk`,
        mayClose: true,
        limitMs,
        pieces: [head([['Transfer-Encoding', 'chunked']]), `${body.length.toString(16)}\r\n${body}\r\n`],
      },
    );
  }
  cases.push(
    {
      name: 'headers that never end',
      mayClose: true,
      limitMs,
      pieces: ['POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'],
    },
    { name: 'a connection that sends nothing', mayClose: true, limitMs, pieces: [] },
  );
  return cases;
}

/** Keys missing, malformed, wrong, in the wrong place or of the wrong scope: 401 or 403, never a 5xx. */
export function authCases(target: Target): FuzzCase[] {
  const good = target.inference[0]?.[1] ?? '';
  const key = good.replace(/^Bearer /, '');
  const variants: [string, [string, string][]][] = [
    ['no key', []],
    ['"Bearer"', [['Authorization', 'Bearer']]],
    ['"Bearer " alone', [['Authorization', 'Bearer ']]],
    ['a short key', [['Authorization', 'Bearer x']]],
    ['Basic credentials', [['Authorization', 'Basic dXNlcjpwYXNz']]],
    ['the key without Bearer', [['Authorization', key]]],
    ['the key twice', [['Authorization', `Bearer ${key} ${key}`]]],
    ['a changed key', [['Authorization', `Bearer ${key.slice(0, -3)}zzz`]]],
    ['a 8 KB key', [['Authorization', `Bearer agk_${'f'.repeat(8000)}`]]],
    ['a key of the right form but unknown', [['Authorization', 'Bearer agk_000000000000_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']]],
    [
      'two authorization headers',
      [
        ['Authorization', 'Bearer x'],
        ['Authorization', good],
      ],
    ],
    ['a unicode key', [['Authorization', 'Bearer ключ\u00ff']]],
  ];
  const cases: FuzzCase[] = [];
  for (const route of routes(target.model).filter((r) => r.scope)) {
    const method = route.methods[0]!;
    const body = method === 'GET' || method === 'DELETE' ? undefined : JSON.stringify(route.body ?? {});
    for (const [name, auth] of variants) {
      cases.push({
        name: `${method} ${route.path} with ${name}`,
        expect: statusIn(401, 403),
        pieces: [httpRequest(method, route.path, { headers: [...(body ? [['Content-Type', 'application/json'] as [string, string]] : []), ...auth], body })],
      });
    }
    if (route.scope === 'admin') {
      cases.push({
        name: `${method} ${route.path} with an inference key`,
        expect: statusIn(403),
        pieces: [
          httpRequest(method, route.path, {
            headers: [...(body ? [['Content-Type', 'application/json'] as [string, string]] : []), ...target.inference],
            body,
          }),
        ],
      });
    }
  }
  return cases;
}
