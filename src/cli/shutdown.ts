// Ctrl-C and SIGTERM: /ready turns 503 at once, serving goes on for the drain delay (while balancers stop sending),
// then in-flight requests drain and the process exits 0; a second signal exits at once.
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
    const { drainDelaySeconds, drainSeconds } = running.settings;
    running.app.servingState.draining = true;
    const drain = () => {
      process.stderr.write(`autoglm: ${signal}: draining in-flight requests (up to ${drainSeconds}s; ${signal} again to force)\n`);
      running.close().then(
        () => {
          process.stderr.write('autoglm: stopped\n');
          process.exit(0);
        },
        (err) => fail(err),
      );
    };
    // Without a drain delay the drain begins at once (/ready is 503 from now on as well): its line is the only one.
    if (drainDelaySeconds <= 0) return drain();
    process.stderr.write(`autoglm: ${signal}: not ready (/ready 503); still serving for ${drainDelaySeconds}s while balancers stop sending\n`);
    setTimeout(drain, drainDelaySeconds * 1000);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
