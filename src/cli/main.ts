#!/usr/bin/env node
// The `autoglm` command line.
import { Command } from 'commander';
import { registerDoctor } from './doctor-command.js';
import { registerQuantize } from './quantize-command.js';
import { registerServe } from './serve-command.js';
import { registerSim } from './sim-command.js';
import { registerConfig } from './config-command.js';
import { registerKeys } from './keys-command.js';
import { registerRollout } from './rollout-command.js';
import { registerEval } from './eval-command.js';
import { registerIndex } from './index-command.js';
import { registerBench } from './bench-command.js';
import { registerTune } from './tune-command.js';
import { registerPull } from './pull-command.js';
import { registerModels } from './models-command.js';
import { registerRm } from './rm-command.js';
import { registerOptimize } from './optimize-command.js';

// A reader that closes early (`autoglm eval --classifier | head`) has all it wanted: stop quietly, as Unix tools do,
// rather than die of EPIPE with a stack trace. Node ignores SIGPIPE, so the closed pipe arrives as this error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command()
  .name('autoglm')
  .description('Open-AutoGLM: self-hosted LLM serving with an OpenAI-compatible API')
  .version('0.1.0')
  // Commander's own refusals (a bad flag value, a missing argument) read like ours: "autoglm: error: ...".
  .configureOutput({ outputError: (text, write) => write(`autoglm: ${text}`) });

registerServe(program);
registerQuantize(program);
registerDoctor(program);
registerSim(program);
registerConfig(program);
registerKeys(program);
registerRollout(program);
registerEval(program);
registerIndex(program);
registerBench(program);
registerTune(program);
registerPull(program);
registerModels(program);
registerRm(program);
registerOptimize(program);

await program.parseAsync();
