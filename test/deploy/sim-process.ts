// `autoglm sim` as the deploy files start it (their own args, moved to loopback and a free port), given the time a
// busy machine needs to start tsx, and stopped when it does not come up rather than left running.
import { runCli, until, type CliProcess } from '../support/processes.js';

export async function startSimLike(args: string[]): Promise<CliProcess & { url: string; stop(): Promise<void> }> {
  const local = [...args];
  local[local.indexOf('--host') + 1] = '127.0.0.1';
  local[local.indexOf('--port') + 1] = '0';
  const proc = runCli(['sim', ...local]);
  const stop = async () => {
    if (proc.child.exitCode === null) proc.child.kill('SIGTERM');
    await proc.exited;
  };
  const started = /serving .* at (http:\/\/[\d.:]+)\/v1/;
  try {
    await until(() => started.test(proc.out()) || proc.child.exitCode !== null, 120_000, 50);
  } catch (err) {
    await stop();
    throw err;
  }
  const url = started.exec(proc.out())?.[1];
  if (!url) throw new Error(`sim did not start: ${proc.err()}`);
  return { ...proc, url, stop };
}
