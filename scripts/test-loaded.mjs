// Runs the whole test suite with one CPU-bound process beside it, as on a busy machine: tests must wait on
// conditions, never on short fixed windows. Exits with the suite's own status.
import { spawn } from 'node:child_process';

// A second process spinning on the CPU: on a 2-core machine it takes one core for as long as the suite runs.
const burner = spawn(process.execPath, ['-e', 'for (;;) Math.sqrt(Math.random());'], { stdio: 'ignore' });
const suite = spawn('npm', ['test'], { stdio: 'inherit' });
const stopBurner = () => {
  if (burner.exitCode === null) burner.kill('SIGKILL');
};
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    suite.kill(signal);
    stopBurner();
  });
}
suite.on('exit', (code, signal) => {
  stopBurner();
  console.log(`test:loaded: the suite ran beside a CPU-bound process and ${code === 0 ? 'passed' : `failed (${signal ?? `exit ${code}`})`}`);
  process.exit(code ?? 1);
});
