// The `autoglm` command as tests start it: the built CLI (dist/cli/main.js), which is what the package's bin runs,
// and starts in half the time of compiling src/ on the fly in each child. `npm test` builds first; a dist/ older than
// src/ is refused, so a test never runs yesterday's code.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './server.js';

export const cliMain = join(repoRoot, 'dist/cli/main.js');

let built = false;

/** The node arguments that run `autoglm ARGS`. */
export function cliArgv(args: readonly string[]): string[] {
  if (!built) {
    assertBuilt();
    built = true;
  }
  return [cliMain, ...args];
}

function assertBuilt(): void {
  const hint = 'run `npm run build` (npm test builds before it runs)';
  let builtAt: number;
  try {
    builtAt = statSync(cliMain).mtimeMs;
  } catch {
    throw new Error(`${cliMain} is missing: ${hint}`);
  }
  const src = join(repoRoot, 'src');
  for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
    if (file.endsWith('.ts') && statSync(join(src, file)).mtimeMs > builtAt) throw new Error(`dist/ is older than src/${file}: ${hint}`);
  }
}
