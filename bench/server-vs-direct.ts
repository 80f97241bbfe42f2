// What the benches that compare the HTTP server with node-llama-cpp driven directly share: the model, `autoglm serve`
// started in its own process and stopped, warm-up then interleaved repeats, and medians drawn as a bar chart.
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { resolve } from 'node:path';
import { getLlama, LlamaLogLevel, type LlamaModel } from 'node-llama-cpp';

export const repoRoot = resolve(import.meta.dirname, '..');
const mirror = process.env.AUTOGLM_MODEL_MIRROR ?? resolve(repoRoot, '../shared/models');
export const MODEL = resolve(mirror, 'stories260K.gguf');
export const THREADS = Number(process.env.BENCH_THREADS ?? 1);
export const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
export const CONTEXT = 2048;
/** Niceness of the bench process once the servers run: as the load generator it must not take the server's CPU. */
const CLIENT_NICENESS = 10;

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface BenchServer {
  url: string;
  child: ChildProcess;
}

/** `autoglm serve <args>` in its own process, from the built CLI or from the sources; resolves once it serves. */
/** `autoglm serve` in its own process, from this checkout or from another one's build (`root`: an A/B baseline). */
export function startServe(args: readonly string[], from: 'dist' | 'sources', root = repoRoot): Promise<BenchServer> {
  const cli = from === 'dist' ? [resolve(root, 'dist/cli/main.js')] : ['--import', 'tsx', resolve(root, 'src/cli/main.ts')];
  const child = spawn(process.execPath, [...cli, 'serve', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  // Its stderr (an access-log line per request) is read too: a pipe nobody reads fills up, and the server's next log
  // write then blocks it for good.
  let errors = '';
  child.stderr!.on('data', (d) => (errors = (errors + String(d)).slice(-4000)));
  return new Promise((resolveStart, reject) => {
    const onOut = (d: Buffer) => {
      out += d;
      const m = /at (http:\/\/[\d.:]+)\/v1/.exec(out);
      if (!m || !out.includes('Ctrl-C')) return;
      // Read and dropped from here on: searched again on every read, a growing output slows this process down.
      child.stdout!.off('data', onOut).resume();
      resolveStart({ url: m[1]!, child });
    };
    child.stdout!.on('data', onOut);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${errors}`)));
  });
}

export const stopServe = (child: ChildProcess) =>
  new Promise<void>((r) => {
    child.once('exit', () => r());
    child.kill('SIGINT');
  });

/** The model loaded in this process, for the direct side, on the CPU as the server runs it. */
export async function loadDirectModel(): Promise<LlamaModel> {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  return llama.loadModel({ modelPath: MODEL });
}

/**
 * Lowers this process's priority (it is the load generator: started after the servers, which keep theirs, it cannot
 * take CPU from the server it measures on a 2-core machine, as a real client on another machine never does; the
 * direct runs, alone on the machine, are unaffected), warms every path once, then runs the rounds one after another,
 * so drift on a noisy machine hits every side alike.
 */
export async function interleavedRepeats(warm: () => Promise<void>, round: (i: number) => Promise<void>, repeats = REPEATS): Promise<void> {
  setPriority(CLIENT_NICENESS);
  await warm();
  for (let i = 0; i < repeats; i++) await round(i);
}

/** Rates by case, each repeat's recorded; reported as medians, drawn against the fastest. */
export class Medians {
  private readonly results = new Map<string, number[]>();

  record(key: string, rate: number): void {
    this.results.set(key, [...(this.results.get(key) ?? []), rate]);
  }

  of(key: string): number {
    return median(this.results.get(key)!);
  }

  /** One bar of the chart: the label, the median with its unit, and a bar scaled to the fastest case. */
  chart(label: string, key: string, unit: string, { labelWidth, digits }: { labelWidth: number; digits: number }): string {
    const widest = Math.max(...[...this.results.keys()].map((k) => this.of(k)));
    const m = this.of(key);
    return `${label.padEnd(labelWidth)} ${m.toFixed(digits).padStart(digits ? 8 : 6)} ${unit}  ${'#'.repeat(Math.round((m / widest) * 40))}`;
  }
}
