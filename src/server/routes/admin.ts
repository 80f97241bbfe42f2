// The admin API (admin scope): tenants and their limits, API keys, usage from the ledger, and config reload.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { AutoglmError, invalidRequest } from '../../core/index.js';
import { ConfigError, limitsSchema, tenantNameSchema as tenantId } from '../../config/index.js';
import { parseGroupBy, SCOPES, type Tenancy } from '../../tenancy/index.js';
import type { ServingState } from '../app.js';
import { parseBody } from '../request-schema.js';

const tenantBody = z.strictObject({ id: tenantId, limits: limitsSchema.default({}) });
const tenantUpdate = z.strictObject({ limits: limitsSchema });
const keyBody = z.strictObject({
  tenant: tenantId,
  scopes: z.array(z.enum(SCOPES)).min(1).optional(),
  name: z.string().max(200).optional(),
  limits: limitsSchema.optional(),
  expires_at: z.iso.datetime({ offset: true }).optional(),
  expires_in_days: z.number().positive().optional(),
});
const keysQuery = z.object({ tenant: z.string().optional() });
const tenantParams = z.object({ id: tenantId });
const keyParams = z.object({ id: z.string().regex(/^[0-9a-f]{12}$/, 'a key id is 12 hex digits, as GET /admin/keys lists them') });
const releaseParams = z.object({ release: z.string().min(1) });
const usageQuery = z.object({
  tenant: z.string().optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  group_by: z.string().optional(),
  format: z.enum(['json', 'csv']).optional(),
});

/**
 * A query string or path, checked like a body. A parameter sent twice arrives as an array; it is refused by name
 * rather than by type, since the caller wrote a string each time. Parameters a route does not read are let through.
 */
function parseQuery<T extends z.ZodObject>(schema: T, values: unknown): z.infer<T> {
  for (const [name, value] of Object.entries(values ?? {})) {
    if (Array.isArray(value) && name in schema.shape) throw invalidRequest(`'${name}' is given more than once; send it once.`, name, 'invalid_value');
  }
  return parseBody(schema, values);
}

/** A time bound as ISO 8601 or epoch milliseconds. */
function timeOf(value: string | undefined, param: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw invalidRequest(`'${param}' must be an ISO 8601 time or epoch milliseconds.`, param);
  return ms;
}

export const adminRoutes =
  (state: ServingState): FastifyPluginAsync =>
  async (app) => {
    const admin = { config: { scope: 'admin' as const } };
    const tenancy = (): Tenancy => {
      if (!state.tenancy) throw new AutoglmError(503, 'server_error', 'starting', 'The server is still starting; retry shortly.', null, 1);
      return state.tenancy;
    };

    app.get('/admin/tenants', admin, async () => ({ object: 'list', data: tenancy().store.tenants() }));

    app.post('/admin/tenants', admin, async (request, reply) => {
      const body = parseBody(tenantBody, request.body);
      if (tenancy().store.tenant(body.id))
        throw new AutoglmError(
          409,
          'invalid_request_error',
          'tenant_exists',
          `Tenant '${body.id}' already exists; PUT /admin/tenants/${body.id} changes it.`,
          'id',
        );
      return reply.code(201).send(tenancy().store.upsertTenant(body.id, body.limits));
    });

    app.put('/admin/tenants/:id', admin, async (request) => {
      const { id } = parseQuery(tenantParams, request.params);
      const body = parseBody(tenantUpdate, request.body);
      if (!tenancy().store.tenant(id)) throw new AutoglmError(404, 'not_found_error', 'tenant_not_found', `No tenant '${id}'.`, 'id');
      return tenancy().store.upsertTenant(id, body.limits);
    });

    app.get('/admin/keys', admin, async (request) => ({
      object: 'list',
      data: tenancy().store.keys(parseQuery(keysQuery, request.query).tenant),
    }));

    app.post('/admin/keys', admin, async (request, reply) => {
      const body = parseBody(keyBody, request.body);
      const expiresAt = body.expires_at
        ? new Date(body.expires_at)
        : body.expires_in_days
          ? new Date(Date.now() + body.expires_in_days * 86_400_000)
          : undefined;
      // A key for a tenant not seen before creates it with no limits, as `autoglm keys create` does.
      tenancy().store.ensureTenant(body.tenant);
      const { key, info } = tenancy().store.createKey({ tenant: body.tenant, scopes: body.scopes, name: body.name, limits: body.limits, expiresAt });
      // The only time the key is shown: it is stored hashed.
      return reply.code(201).send({ ...info, key });
    });

    app.delete('/admin/keys/:id', admin, async (request) => tenancy().store.revokeKey(parseQuery(keyParams, request.params).id));

    app.get('/admin/usage', admin, async (request, reply) => {
      const q = parseQuery(usageQuery, request.query);
      const query = { tenant: q.tenant, fromMs: timeOf(q.from, 'from'), toMs: timeOf(q.to, 'to'), groupBy: parseGroupBy(q.group_by) };
      const ledger = tenancy().ledger;
      if (q.format === 'csv') {
        reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="usage.csv"');
        return reply.send([...ledger.csv(query)].join(''));
      }
      return { object: 'list', group_by: query.groupBy, data: ledger.aggregate(query) };
    });

    const releases = () => {
      if (!state.releases)
        throw new AutoglmError(404, 'not_found_error', 'no_releases', 'This server has no releases: serve a gateway config with a releases section.');
      return state.releases;
    };
    const rollout = (name: string) => {
      const found = releases().releases.rollout(name);
      if (!found) throw new AutoglmError(404, 'not_found_error', 'release_not_found', `No release '${name}'. GET /admin/rollouts lists them.`, 'release');
      return found;
    };
    const by = (request: { principal?: { keyId: string | null; tenant: string } }) =>
      request.principal?.keyId ? `key ${request.principal.keyId}` : 'an operator';

    app.get('/admin/rollouts', admin, async () => ({
      object: 'list',
      data: releases()
        .releases.rollouts()
        .map((r) => r.snapshot),
    }));

    app.get('/admin/rollouts/:release', admin, async (request) => rollout(parseQuery(releaseParams, request.params).release).snapshot);

    for (const action of ['promote', 'abort'] as const) {
      app.post(`/admin/rollouts/:release/${action}`, admin, async (request) => {
        const { release } = parseQuery(releaseParams, request.params);
        const r = rollout(release);
        if (!r.canaryVersion) throw invalidRequest(`Release '${release}' has no canary to ${action}.`, 'release', 'no_canary');
        r[action](by(request));
        return r.snapshot;
      });
    }

    // Everything the dashboard shows, in one poll.
    app.get('/admin/stats', admin, async () => ({
      time: new Date().toISOString(),
      live: state.metrics.live.snapshot(),
      engines: state.metrics.engineStats(),
      replicas: state.replicas?.() ?? [],
      rollouts: state.releases?.releases.rollouts().map((r) => r.snapshot) ?? [],
      tenants: state.tenancy?.ledger.aggregate({ fromMs: Date.now() - 86_400_000, groupBy: ['tenant'] }) ?? [],
    }));

    app.get('/admin/config', admin, async () => ({ reload: state.releases?.reloadStatus ?? null, reloadable: Boolean(state.reload) }));

    app.post('/admin/reload', admin, async () => {
      if (!state.reload) throw invalidRequest('This server was started without a config file; there is nothing to reload.', null, 'no_config');
      try {
        await state.reload();
      } catch (err) {
        // A config file that no longer parses leaves everything as it was, and the caller is told why.
        if (err instanceof ConfigError) throw invalidRequest(err.message, null, 'invalid_config');
        throw err;
      }
      return { status: 'reloaded', generation: state.releases?.reloadStatus.generation ?? null, tenants: tenancy().store.tenants().length };
    });
  };
