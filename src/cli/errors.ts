// How the CLI fails: one clear line on stderr and a non-zero exit, never a stack trace for a user's mistake.
import { ZodError } from 'zod';
import { ConfigError } from '../config/index.js';
import { ModelUnavailableError } from '../core/index.js';

/** Maps a settings key to the flag a user typed, so "contextSize" reads as "--context-size". */
const flagOf = (key: PropertyKey): string => `--${String(key).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export function describeFailure(err: unknown): string {
  if (err instanceof ModelUnavailableError || err instanceof ConfigError) return err.message;
  if (err instanceof ZodError) {
    const issue = err.issues[0]!;
    return `invalid ${issue.path.length ? flagOf(issue.path[issue.path.length - 1]!) : 'option'}: ${issue.message}`;
  }
  const e = err as NodeJS.ErrnoException & { port?: number };
  if (e?.code === 'EADDRINUSE') return `port ${e.port ?? ''} is already in use; choose another with --port`.replace('  ', ' ');
  if (e?.code === 'EACCES') return `not allowed to listen there (${e.message}); choose a port above 1024 with --port`;
  return e instanceof Error ? e.message.split('\n')[0]! : String(err);
}

export function fail(err: unknown): never {
  process.stderr.write(`autoglm: error: ${describeFailure(err)}\n`);
  if (process.env.AUTOGLM_DEBUG) console.error(err);
  process.exit(1);
}
