// `autoglm config schema | check FILE`: the JSON Schema for editors, and a config validated without starting.
import type { Command } from 'commander';
import { gatewayJsonSchema, loadGatewayConfig } from '../config/index.js';
import { fail } from './errors.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('gateway config: JSON Schema and validation');
  config
    .command('schema')
    .description('print the JSON Schema of the gateway config (for editor completion)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(gatewayJsonSchema(), null, 2)}\n`);
    });
  config
    .command('check')
    .argument('<file>', 'YAML config file')
    .description('validate a gateway config; errors name the key and line')
    .action(async (file: string) => {
      try {
        const parsed = await loadGatewayConfig(file);
        const models = Object.entries(parsed.models).map(([name, m]) => `${name} (${m.replicas.length} replicas, ${m.policy})`);
        process.stdout.write(`${file}: ok: ${models.join(', ')}\n`);
      } catch (err) {
        fail(err);
      }
    });
}
