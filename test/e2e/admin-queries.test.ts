// The admin API's query strings and path ids on a gateway with auth on: a repeated or malformed value is a 400 in
// OpenAI's shape that names the parameter, never a 500; parameters a route does not read are ignored.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

describe('admin queries and path ids', () => {
  let gateway: GatewayServer;
  let adminKey: string;
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) => {
    const res = await request(`${gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, text, json: () => JSON.parse(text) as unknown };
  };
  const refusal = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, param: string, body?: unknown) => {
    const res = await call(method, path, body);
    assert.equal(res.status, 400, `${method} ${path}: ${res.text}`);
    const { error } = res.json() as ErrorBody;
    assert.equal(error.type, 'invalid_request_error', `${method} ${path}: ${res.text}`);
    assert.equal(error.param, param, `${method} ${path} names '${param}': ${res.text}`);
    assert.match(error.message, new RegExp(`'${param}'`), `${method} ${path}: the message names '${param}'`);
    assert.equal(typeof error.code, 'string', `${method} ${path}: a code`);
  };

  before(async () => {
    gateway = await serveGateway(
      parseGatewayConfig(`
auth: { enabled: true }
database: ':memory:'
tenants: { acme: {}, beta: {} }
models:
  chat@v1: { replicas: [{ type: sim, id: blue, preset: instant, outputTokens: 4 }] }
  chat@v2: { replicas: [{ type: sim, id: green, preset: instant, outputTokens: 4 }] }
releases:
  chat: { stable: v1, canary: { version: v2, steps: [50, 100], holdSeconds: 600 } }
`),
      { serverOverrides: { port: 0 } },
    );
    adminKey = gateway.tenancy.store.createKey({ tenant: 'acme', scopes: ['admin'], name: 'ops' }).key;
    gateway.tenancy.store.createKey({ tenant: 'beta', scopes: ['inference'], name: 'beta app' });
  });
  after(() => gateway?.close());

  it('refuses a repeated query parameter with 400 naming it, on every admin GET that reads one', async () => {
    await refusal('GET', '/admin/keys?tenant=acme&tenant=beta', 'tenant');
    for (const param of ['tenant', 'from', 'to', 'group_by', 'format']) {
      await refusal('GET', `/admin/usage?${param}=1&${param}=2`, param);
    }
  });

  it('ignores a repeated parameter that a route does not read', async () => {
    for (const path of ['/admin/tenants', '/admin/keys', '/admin/usage', '/admin/rollouts', '/admin/rollouts/chat', '/admin/stats', '/admin/config']) {
      const res = await call('GET', `${path}?x=1&x=2`);
      assert.equal(res.status, 200, `GET ${path}?x=1&x=2: ${res.text}`);
    }
  });

  it('still filters keys by one tenant', async () => {
    const res = await call('GET', '/admin/keys?tenant=beta');
    assert.equal(res.status, 200, res.text);
    const { data } = res.json() as { data: { tenant: string; name: string }[] };
    assert.deepEqual(
      data.map((k) => [k.tenant, k.name]),
      [['beta', 'beta app']],
    );
  });

  it('refuses a path id of the wrong shape with 400 naming it, and an unknown one with 404', async () => {
    await refusal('PUT', `/admin/tenants/${'a'.repeat(90)}`, 'id', { limits: {} });
    await refusal('PUT', '/admin/tenants/two%20words', 'id', { limits: {} });
    await refusal('DELETE', '/admin/keys/not-a-key-id', 'id');
    const unknown: [string, string, string][] = [
      ['PUT', '/admin/tenants/nobody', 'id'],
      ['DELETE', '/admin/keys/000000000000', 'id'],
      ['GET', '/admin/rollouts/nothing', 'release'],
      ['POST', '/admin/rollouts/nothing/promote', 'release'],
    ];
    for (const [method, path, param] of unknown) {
      const res = await call(method as 'GET', path, method === 'PUT' ? { limits: {} } : undefined);
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      assert.equal((res.json() as ErrorBody).error.param, param, `${method} ${path} names '${param}'`);
    }
  });
});
