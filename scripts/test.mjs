// The test suite: two files at a time (a file spends much of its time waiting on the servers and child processes it
// starts, so two keep both cores busy), then the files that measure throughput or deadlines, one at a time, so that
// nothing else takes their CPU. Exits with the first failing group's status.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/** Files whose assertions are about speed under load or about timers: each runs with the machine to itself. */
const ALONE = ['test/robustness/', 'test/e2e/slow-clients.test.ts'];

const root = join(import.meta.dirname, '..');

// Folders named relative to where the command was typed (the README's `AUTOGLM_MODEL_MIRROR=../shared/models`) are
// made absolute: tests start the CLI in folders of their own, where a relative path names nothing.
const typedIn = process.env.INIT_CWD ?? process.cwd();
for (const name of ['AUTOGLM_MODEL_MIRROR', 'AUTOGLM_MODELS_DIR', 'AUTOGLM_CACHE_DIR', 'AUTOGLM_DATA_DIR']) {
  const value = process.env[name];
  if (value)
    process.env[name] = value
      .split(delimiter)
      .map((folder) => (folder.trim() ? resolve(typedIn, folder.trim()) : folder))
      .join(delimiter);
}
const files = readdirSync(join(root, 'test'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => `test/${f.replaceAll('\\', '/')}`)
  .sort();
const alone = files.filter((f) => ALONE.some((prefix) => f.startsWith(prefix)));
const shared = files.filter((f) => !alone.includes(f));

const run = (concurrency, list) =>
  spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', './test/support/own-folders.ts', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...list],
    { cwd: root, stdio: 'inherit' },
  ).status ?? 1;

const status = run(2, shared) || run(1, alone);
process.exit(status);
