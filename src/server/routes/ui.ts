// The dashboard's page and assets at /ui, built from web/ui into dist/web/ui (npm run build).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { AutoglmError } from '../../core/index.js';

/** dist/web/ui of this package, whether the server runs from dist/ or from src/ (tests). */
function assetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'web', 'ui');
}

export const uiRoutes: FastifyPluginAsync = async (app) => {
  const root = assetsDir();
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/ui*', async () => {
      throw new AutoglmError(404, 'not_found_error', 'ui_not_built', 'The dashboard is not built: run `npm run build`.');
    });
    return;
  }
  await app.register(fastifyStatic, { root, prefix: '/ui/', decorateReply: false });
  app.get('/ui', async (_request, reply) => reply.redirect('/ui/'));
  // Browsers and bookmarks ask the root for an icon whatever the page says; the dashboard's is the server's.
  const iconFile = join(root, 'favicon.svg');
  if (existsSync(iconFile)) {
    const icon = readFileSync(iconFile);
    app.get('/favicon.ico', async (_request, reply) => reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(icon));
  }
};
