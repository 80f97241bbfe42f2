// Fuzz cases for the admin API (admin key): wrong types in tenant and key bodies, odd expiry times, and odd queries
// and path ids. Writes go to the tenant `fuzz`, so the tenant the other cases call as keeps its limits.
import type { Random } from '../../src/core/index.js';
import { EACH_TYPE, ODD, paramText, pick, shuffled, withValue, type Target } from './body-cases.js';
import type { FuzzCase } from './fuzz-case.js';
import { httpRequest } from './raw-http.js';

const LIMIT_FIELDS = ['requestsPerMinute', 'tokensPerMinute', 'maxConcurrent', 'tokensPerDay', 'tokensPerMonth', 'models', 'priority'];

export function adminBodyCases(rng: Random, target: Target): FuzzCase[] {
  const headers: [string, string][] = [['Content-Type', 'application/json'], ...target.admin];
  const bodies: [string, string, unknown, (string | number)[][]][] = [
    [
      'POST',
      '/admin/tenants',
      { id: 'fuzz-new', limits: { requestsPerMinute: 10, models: ['chat'] } },
      [['id'], ['limits'], ...LIMIT_FIELDS.map((f) => ['limits', f]), ['limits', 'models', 0]],
    ],
    ['PUT', '/admin/tenants/fuzz', { limits: { requestsPerMinute: 10 } }, [['limits'], ...LIMIT_FIELDS.map((f) => ['limits', f])]],
    [
      'POST',
      '/admin/keys',
      { tenant: 'fuzz', scopes: ['inference'], name: 'fuzzed', limits: { maxConcurrent: 2 }, expires_in_days: 30 },
      [['tenant'], ['scopes'], ['scopes', 0], ['name'], ['limits'], ['limits', 'maxConcurrent'], ['expires_at'], ['expires_in_days']],
    ],
  ];
  const cases: FuzzCase[] = [];
  let n = 0;
  for (const [method, path, base, fields] of bodies) {
    for (const field of fields) {
      for (const value of [...EACH_TYPE, ...shuffled(rng, ODD).slice(0, 2)]) {
        // New tenants get distinct ids, so a case is not refused only because an earlier one made its tenant.
        const body = withValue(path === '/admin/tenants' && field[0] !== 'id' ? { ...(base as object), id: `fuzz-${n++}` } : base, field, value);
        cases.push({
          name: `${method} ${path}: ${paramText(field)} = ${JSON.stringify(value)!.slice(0, 40)}`,
          pieces: [httpRequest(method, path, { headers, body: JSON.stringify(body) })],
        });
      }
    }
  }
  const expiries: unknown[] = [
    { expires_in_days: 1e308 },
    { expires_in_days: 1e-300 },
    { expires_in_days: 1e9 },
    { expires_at: '2020-01-01T00:00:00Z' },
    { expires_at: 'not a date' },
    { expires_at: '+275760-09-13T00:00:00.000Z' },
    { expires_at: '9999-12-31T23:59:59Z' },
    { expires_at: '2030-02-30T00:00:00Z' },
    { expires_at: '2030-01-01T00:00:00Z', expires_in_days: 5 },
    { scopes: [] },
    { scopes: ['inference', 'inference', 'admin'] },
    { tenant: 'acme', limits: { models: [] } },
  ];
  for (const extra of expiries) {
    cases.push({
      name: `POST /admin/keys: ${JSON.stringify(extra)}`,
      pieces: [httpRequest('POST', '/admin/keys', { headers, body: JSON.stringify({ tenant: 'fuzz', ...(extra as object) }) })],
    });
  }
  return cases;
}

export function adminQueryCases(rng: Random, target: Target): FuzzCase[] {
  const get = (path: string, method = 'GET'): FuzzCase => ({
    name: `${method} ${path.slice(0, 100)}`,
    pieces: [httpRequest(method, path, { headers: target.admin })],
  });
  const odd = ['', '-1', '0', '99999999999999999999', '2024-13-45', '1e999', 'NaN', 'now', '2024-01-01T00:00:00Z', '%00', '%E2%80%AE', 'x'.repeat(3000)];
  const groupBys = ['tenant', 'tenant,model,day', 'wizard', 'tenant,tenant', ','.repeat(500), 'model,key,hour,minute', '%20'];
  const cases: FuzzCase[] = [];
  for (const param of ['from', 'to']) for (const v of odd) cases.push(get(`/admin/usage?${param}=${v}`));
  for (const g of groupBys) cases.push(get(`/admin/usage?group_by=${g}`), get(`/admin/usage?group_by=${g}&format=csv`));
  for (const f of ['csv', 'json', 'xml', '', 'CSV']) cases.push(get(`/admin/usage?format=${f}`));
  cases.push(
    get('/admin/usage?tenant=a&tenant=b'),
    get('/admin/usage?from=1&from=2'),
    get('/admin/usage?unknown=1'),
    get('/admin/keys?tenant=a&tenant=b'),
    get(`/admin/keys?tenant=${'t'.repeat(3000)}`),
  );
  const ids = [
    'x',
    '..',
    '%2e%2e',
    'chat@v1',
    'chat%40v2',
    'a'.repeat(90),
    '%00',
    '%F0%9F%99%82',
    ...Array.from({ length: 6 }, () => pick(rng, ['fuzz', 'acme', 'nobody', '-', '_', '.']) + Math.floor(rng.next() * 1000)),
  ];
  for (const id of ids) {
    cases.push(get(`/admin/rollouts/${id}`), get(`/admin/keys/${id}`, 'DELETE'));
    cases.push({
      name: `PUT /admin/tenants/${id}`,
      pieces: [httpRequest('PUT', `/admin/tenants/${id}`, { headers: [['Content-Type', 'application/json'], ...target.admin], body: '{"limits":{}}' })],
    });
    for (const action of ['promote', 'abort']) cases.push(get(`/admin/rollouts/${id}/${action}`, 'POST'));
  }
  return cases;
}
