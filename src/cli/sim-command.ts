// `autoglm sim`: a simulated OpenAI-compatible LLM server with realistic timing and injectable faults.
import type { Command } from 'commander';
import { SIM_PRESETS } from '../config/index.js';
import { serveSim } from '../server/index.js';
import { fail } from './errors.js';
import { anyNumber as num } from './number-options.js';
import { handleShutdown } from './shutdown.js';

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('run the simulator engine as an OpenAI-compatible server (for tests, benchmarks, capacity planning)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('-p, --port <port>', 'port to listen on', num, 9001)
    .option('--model <name>', 'model name to answer to', 'sim')
    .option('--preset <name>', `latency profile: ${Object.keys(SIM_PRESETS).join(', ')}`, 'llama-8b-h100')
    .option('--seed <n>', 'random seed (same seed, same answers and timings)', num, 1)
    .option('--overhead-ms <ms>', 'fixed time before prefill', num)
    .option('--prefill-ms-per-token <ms>', 'prefill time per uncached prompt token', num)
    .option('--itl-ms <ms>', 'mean inter-token latency', num)
    .option('--max-running <n>', 'sequences decoded at once', num)
    .option('--output-tokens <n>', 'tokens generated when max_tokens allows', num)
    .option('--cache-blocks <n>', 'prefix-cache blocks kept', num)
    .option('--error-rate <p>', 'share of requests failing with 5xx', num)
    .option('--spike-rate <p>', 'share of requests with a latency spike', num)
    .option('--spike-ms <ms>', 'latency spike length', num)
    .option('--hang-rate <p>', 'share of requests that never answer', num)
    .option('--drop-rate <p>', 'share of streams whose connection drops halfway', num)
    .option('--refuse-rate <p>', 'share of connections reset at once', num)
    .option('--drain-seconds <s>', 'how long Ctrl-C or SIGTERM waits for in-flight requests', num)
    .option('--drain-delay <s>', 'after SIGTERM, seconds /ready is 503 while requests are still served, before draining (default 0)', num)
    .action(async (o: Record<string, string | number | undefined>) => {
      try {
        const faults = Object.fromEntries(
          (['errorRate', 'spikeRate', 'spikeMs', 'hangRate', 'dropRate', 'refuseRate'] as const).filter((k) => o[k] !== undefined).map((k) => [k, o[k]]),
        );
        const running = await serveSim(
          {
            model: o.model as string,
            preset: o.preset as never,
            seed: o.seed as number,
            overheadMs: o.overheadMs as number | undefined,
            prefillMsPerToken: o.prefillMsPerToken as number | undefined,
            itlMs: o.itlMs as number | undefined,
            maxRunning: o.maxRunning as number | undefined,
            outputTokens: o.outputTokens as number | undefined,
            cacheBlocks: o.cacheBlocks as number | undefined,
            faults,
          },
          {
            host: o.host as string,
            port: o.port as number,
            ...(o.drainSeconds !== undefined && { drainSeconds: o.drainSeconds as number }),
            ...(o.drainDelay !== undefined && { drainDelaySeconds: o.drainDelay as number }),
          },
        );
        const s = running.served.engine.settings;
        process.stdout.write(
          `autoglm sim serving '${s.model}' at ${running.url}/v1 (preset ${s.preset}: ttft ${s.overheadMs}ms + ${s.prefillMsPerToken}ms/token, itl ${s.itlMs}ms, max running ${s.maxRunning}, seed ${s.seed})\n` +
            `faults: ${JSON.stringify(s.faults)}; change them with POST ${running.url}/sim/faults\n`,
        );
        handleShutdown(running);
      } catch (err) {
        fail(err);
      }
    });
}
