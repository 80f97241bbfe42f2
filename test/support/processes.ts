// Test support: the real `autoglm` CLI as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { repoRoot } from './server.js';
import { cliArgv } from './cli-command.js';

export interface CliProcess {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env, cwd = repoRoot): CliProcess {
  const child = spawn(process.execPath, cliArgv(args), {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exited };
}

export async function until(what: () => boolean | Promise<boolean>, ms = 30_000, everyMs = 25): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Starts `autoglm sim` and resolves with its base URL once it listens. */
export async function startSim(args: string[]): Promise<CliProcess & { url: string }> {
  const proc = runCli(['sim', ...args]);
  await until(() => /serving .* at (http:\/\/[\d.:]+)\/v1/.test(proc.out()) || proc.child.exitCode !== null, 20_000);
  const url = /serving .* at (http:\/\/[\d.:]+)\/v1/.exec(proc.out())?.[1];
  if (!url) throw new Error(`sim did not start: ${proc.err()}`);
  return { ...proc, url };
}
