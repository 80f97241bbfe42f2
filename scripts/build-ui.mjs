// Builds the dashboard (web/ui) into dist/web/ui: one bundled, minified script, its page, styles, icon and uPlot's styles.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const out = join(root, 'dist/web/ui');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'web/ui/app.ts')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
copyFileSync(join(root, 'web/ui/index.html'), join(out, 'index.html'));
copyFileSync(join(root, 'web/ui/app.css'), join(out, 'app.css'));
copyFileSync(join(root, 'web/ui/favicon.svg'), join(out, 'favicon.svg'));
copyFileSync(join(dirname(createRequire(import.meta.url).resolve('uplot')), 'uPlot.min.css'), join(out, 'uPlot.min.css'));
