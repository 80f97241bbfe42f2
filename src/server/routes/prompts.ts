// The admin API of managed prompts (admin scope, per tenant): create, list, add a version, read, delete, and each
// version's share of traffic and feedback; and the layer that puts the prompts into the serving stack.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { AutoglmError, type ChatModel } from '../../core/index.js';
import { PROMPT_NAME, promptDemoSchema } from '../../config/index.js';
import { PromptCatalog, withManagedPrompts, type PromptsSetup, type PromptTemplate } from '../../prompts/index.js';
import { parseStrategySpec } from '../../reasoning/index.js';
import { ANONYMOUS_TENANT, type Tenancy } from '../../tenancy/index.js';
import type { ServingState } from '../app.js';
import { parseBody } from '../request-schema.js';

export type { PromptsSetup };

declare module '../app.js' {
  interface ServingState {
    /** Managed prompts, their versions and the feedback on them; set once the models are loaded. */
    prompts?: PromptCatalog;
  }
}

/** The managed-prompts layer over `model`, with its catalog made reachable to the admin and feedback routes. */
export function managedPromptsLayer(model: ChatModel, state: ServingState, tenancy: Tenancy, setup?: PromptsSetup): ChatModel {
  state.prompts = new PromptCatalog(tenancy.databasePath, setup, (tenant, id, by, fromMs) => tenancy.ledger.answered(tenant, id, by, fromMs));
  return withManagedPrompts(model, state.prompts);
}

const promptName = z.string().regex(PROMPT_NAME, 'a prompt name is 1 to 64 letters, digits, _, . or -');
const versionBody = z.strictObject({
  instructions: z.string().max(100_000).default(''),
  demos: z.array(promptDemoSchema).max(64).default([]),
  format: z.string().max(10_000).optional(),
  strategy: z.string().max(20).optional(),
});
const createBody = versionBody.extend({ name: promptName });
const nameParams = z.object({ name: promptName });
const versionParams = z.object({ name: promptName, version: z.string().regex(/^[1-9]\d{0,8}$/, 'a version is a whole number from 1') });
const armsQuery = z.object({
  bucket_seconds: z
    .string()
    .regex(/^[1-9]\d{0,6}$/, 'bucket_seconds is a whole number of seconds')
    .optional(),
});

const wire = (t: PromptTemplate & { createdAt?: string; versions?: number }, scope: string) => ({
  object: 'prompt',
  name: t.name,
  version: t.version,
  scope,
  instructions: t.instructions,
  demos: t.demos,
  format: t.format ?? null,
  strategy: t.strategy ?? null,
  ...(t.createdAt && { created_at: t.createdAt }),
  ...(t.versions !== undefined && { versions: t.versions }),
});

const unknownPrompt = (name: string) => new AutoglmError(404, 'not_found_error', 'prompt_not_found', `No prompt '${name}'.`, 'name');
const readOnly = (name: string) =>
  new AutoglmError(409, 'invalid_request_error', 'prompt_in_config', `Prompt '${name}' comes from the config file; change it there (then reload).`, 'name');

/** A strategy the reasoning layer would refuse is refused here, naming the field, before it is stored. */
function checkStrategy(strategy: string | undefined): void {
  if (strategy !== undefined) parseStrategySpec(strategy, 'strategy');
}

export const promptRoutes =
  (state: ServingState): FastifyPluginAsync =>
  async (app) => {
    const admin = { config: { scope: 'admin' as const } };
    const catalog = (): PromptCatalog => {
      if (!state.prompts) throw new AutoglmError(503, 'server_error', 'starting', 'The server is still starting; retry shortly.', null, 1);
      return state.prompts;
    };
    const tenantOf = (request: { principal?: { tenant: string } }) => request.principal?.tenant ?? ANONYMOUS_TENANT;
    app.addHook('onClose', (_app, done) => {
      state.prompts?.close();
      done();
    });

    app.get('/admin/prompts', admin, async (request) => {
      const tenant = tenantOf(request);
      const own = catalog()
        .store.list(tenant)
        .map((t) => wire(t, tenant));
      const globals = catalog()
        .globalNames()
        .filter((n) => !own.some((o) => o.name === n))
        .map((n) => {
          const versions = catalog().globalVersions(n);
          return wire({ ...versions[versions.length - 1]!, versions: versions.length }, 'global');
        });
      return { object: 'list', data: [...own, ...globals].sort((a, b) => a.name.localeCompare(b.name)) };
    });

    app.post('/admin/prompts', admin, async (request, reply) => {
      const body = parseBody(createBody, request.body);
      checkStrategy(body.strategy);
      const tenant = tenantOf(request);
      if (catalog().isGlobal(body.name)) throw readOnly(body.name);
      if (catalog().store.versions(tenant, body.name).length)
        throw new AutoglmError(
          409,
          'invalid_request_error',
          'prompt_exists',
          `Prompt '${body.name}' already exists; POST /admin/prompts/${body.name}/versions adds a version.`,
          'name',
        );
      return reply.code(201).send(wire(catalog().store.addVersion(tenant, body), tenant));
    });

    app.post('/admin/prompts/:name/versions', admin, async (request, reply) => {
      const { name } = parseBody(nameParams, request.params);
      const body = parseBody(versionBody, request.body);
      checkStrategy(body.strategy);
      const tenant = tenantOf(request);
      if (catalog().isGlobal(name) && catalog().store.versions(tenant, name).length === 0) throw readOnly(name);
      if (catalog().store.versions(tenant, name).length === 0) throw unknownPrompt(name);
      return reply.code(201).send(wire(catalog().store.addVersion(tenant, { name, ...body }), tenant));
    });

    app.get('/admin/prompts/:name', admin, async (request) => {
      const { name } = parseBody(nameParams, request.params);
      const tenant = tenantOf(request);
      const own = catalog().store.versions(tenant, name);
      const versions = own.length
        ? own.map((t) => wire(t, tenant))
        : catalog()
            .globalVersions(name)
            .map((t) => wire(t, 'global'));
      if (versions.length === 0) throw unknownPrompt(name);
      return { object: 'list', data: versions };
    });

    app.get('/admin/prompts/:name/versions/:version', admin, async (request) => {
      const { name, version } = parseBody(versionParams, request.params);
      const tenant = tenantOf(request);
      const own = catalog().store.versions(tenant, name);
      const all = own.length
        ? own.map((t) => wire(t, tenant))
        : catalog()
            .globalVersions(name)
            .map((t) => wire(t, 'global'));
      if (all.length === 0) throw unknownPrompt(name);
      const found = all.find((t) => t.version === Number(version));
      if (!found)
        throw new AutoglmError(
          404,
          'not_found_error',
          'prompt_version_not_found',
          `Prompt '${name}' has no version ${version}; its versions are ${all.map((t) => t.version).join(', ')}.`,
          'version',
        );
      return found;
    });

    app.delete('/admin/prompts/:name', admin, async (request) => {
      const { name } = parseBody(nameParams, request.params);
      const tenant = tenantOf(request);
      const deleted = catalog().store.remove(tenant, name);
      if (deleted === 0) throw catalog().isGlobal(name) ? readOnly(name) : unknownPrompt(name);
      return { object: 'prompt.deleted', name, deleted: true, versions: deleted };
    });

    app.get('/admin/prompts/:name/arms', admin, async (request) => {
      const { name } = parseBody(nameParams, request.params);
      const query = parseBody(armsQuery, request.query);
      const report = catalog().armsReport(tenantOf(request), name, Number(query.bucket_seconds ?? 60) * 1000);
      if (!report) throw unknownPrompt(name);
      return { object: 'prompt.arms', ...report };
    });
  };
