// Ctrl-C and SIGTERM: drain in-flight requests, exit 0; a second signal exits at once.
import type { RunningServer } from '../server/index.js';
import { fail } from './errors.js';

export function handleShutdown(running: RunningServer): void {
  let closing = false;
  const stop = (signal: NodeJS.Signals) => {
    if (closing) {
      process.stderr.write(`autoglm: ${signal} again, exiting without waiting\n`);
      process.exit(130);
    }
    closing = true;
    process.stderr.write(`autoglm: ${signal}: draining in-flight requests (up to ${running.settings.drainSeconds}s; again to force)\n`);
    running.close().then(
      () => {
        process.stderr.write('autoglm: stopped\n');
        process.exit(0);
      },
      (err) => fail(err),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
