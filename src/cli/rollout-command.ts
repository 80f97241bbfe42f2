// `autoglm rollout`: a running gateway's releases (status) and the operator's levers (promote, abort), over the admin API.
import type { Command } from 'commander';
import { request } from 'undici';
import type { RolloutState } from '../router/index.js';
import { fail } from './errors.js';

interface ApiFlags {
  url: string;
  key?: string;
}

type Snapshot = RolloutState & { canaryPercent: number; steps: number[] };

async function call(flags: ApiFlags, method: 'GET' | 'POST', path: string): Promise<unknown> {
  const key = flags.key ?? process.env.AUTOGLM_API_KEY;
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(`${flags.url.replace(/\/+$/, '')}${path}`, { method, headers: key ? { authorization: `Bearer ${key}` } : {} });
  } catch (err) {
    throw new Error(`cannot reach ${flags.url}: ${(err as Error).message}`);
  }
  const body = (await res.body.json().catch(() => ({}))) as { error?: { message: string } };
  // The URL is named: without --url it is a default the user may not know was asked.
  if (res.statusCode >= 400) throw new Error(`${flags.url} answered: ${body.error?.message ?? `HTTP ${res.statusCode}`}`);
  return body;
}

function print(s: Snapshot): void {
  const steps = s.steps.length ? s.steps.map((p, i) => (s.status === 'ramping' && i === s.step ? `[${p}%]` : `${p}%`)).join(' -> ') : '-';
  process.stdout.write(
    `${s.release.padEnd(16)} ${s.status.padEnd(12)} stable ${s.stable.padEnd(12)} canary ${(s.canary ?? '-').padEnd(12)} ${String(s.canaryPercent).padStart(3)}%  steps ${steps}${s.reason ? `  (${s.reason})` : ''}\n`,
  );
}

export function registerRollout(program: Command): void {
  const rollout = program.command('rollout').description('model version rollouts of a running gateway');
  const api = (cmd: Command) =>
    cmd
      .option('--url <url>', 'the gateway', process.env.AUTOGLM_URL ?? 'http://127.0.0.1:8080')
      .option('--key <key>', 'an admin API key (default: $AUTOGLM_API_KEY)');

  api(rollout.command('status').description('each release: stable and canary versions, canary share, step, status').argument('[release]')).action(
    async (release: string | undefined, flags: ApiFlags) => {
      try {
        const data = release
          ? [(await call(flags, 'GET', `/admin/rollouts/${encodeURIComponent(release)}`)) as Snapshot]
          : ((await call(flags, 'GET', '/admin/rollouts')) as { data: Snapshot[] }).data;
        if (data.length === 0) process.stdout.write(`no releases at ${flags.url}\n`);
        data.forEach(print);
      } catch (err) {
        fail(err);
      }
    },
  );

  for (const [action, what] of [
    ['promote', 'send all traffic of a release to its canary now'],
    ['abort', 'send all traffic of a release back to its stable version now'],
  ] as const) {
    api(rollout.command(action).description(what).argument('<release>')).action(async (release: string, flags: ApiFlags) => {
      try {
        print((await call(flags, 'POST', `/admin/rollouts/${encodeURIComponent(release)}/${action}`)) as Snapshot);
      } catch (err) {
        fail(err);
      }
    });
  }
}
