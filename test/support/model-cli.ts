// The `autoglm` command run as a user runs it, for the model commands: no mirror unless asked, its own cache and data
// folder, and a local stand-in for the hub.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { cliArgv } from './cli-command.js';

export type Run = ChildProcess & { out: () => string; err: () => string; exited: Promise<number | null> };

export interface CliPlace {
  /** HOME, the working folder, and the parent of the data folder. */
  home: string;
  hubUrl: string;
}

export function modelCli(place: () => CliPlace) {
  /** Starts the CLI; `env` adds to or overrides the isolated environment. */
  function autoglm(args: string[], cache: string, env: Record<string, string> = {}): Run {
    const { home, hubUrl } = place();
    const { AUTOGLM_MODEL_MIRROR: _mirror, AUTOGLM_CATALOG: _catalog, AUTOGLM_MODEL: _model, ...inherited } = process.env;
    const child = spawn(process.execPath, cliArgv(args), {
      cwd: home,
      env: { ...inherited, HOME: home, AUTOGLM_CACHE_DIR: cache, AUTOGLM_DATA_DIR: join(home, 'data'), AUTOGLM_HF_ENDPOINT: hubUrl, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return Object.assign(child, { out: () => out, err: () => err, exited });
  }

  async function finished(args: string[], cache: string, env: Record<string, string> = {}) {
    const run = autoglm(args, cache, env);
    const code = await run.exited;
    return { code, out: run.out(), err: run.err() };
  }

  /** A refusal: exit 1 and exactly one `autoglm:` line on stderr (besides any progress bar), matching `pattern`. */
  async function refused(args: string[], cache: string, pattern: RegExp, env: Record<string, string> = {}): Promise<string> {
    const { code, err } = await finished(args, cache, env);
    const lines = err.split(/[\r\n]+/).filter((l) => l.startsWith('autoglm:') && !/^autoglm: loading /.test(l));
    assert.equal(code, 1, `${args.join(' ')} exits 1: ${err}`);
    assert.equal(lines.length, 1, `${args.join(' ')}: one line, got ${JSON.stringify(err)}`);
    assert.match(lines[0]!, pattern);
    assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
    return lines[0]!;
  }

  return { autoglm, finished, refused };
}

export async function until(what: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}
