// `autoglm config schema | check FILE`: the JSON Schema for editors, and a config validated without starting.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, gatewayJsonSchema, loadGatewayConfig, type GatewayConfig } from '../config/index.js';
import { apiKeyEnvOf } from '../engines/openai/index.js';
import { fail } from './errors.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Things that validate but will not work as meant here: an API key variable this environment does not set. */
function warnings(config: GatewayConfig, file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter });
  const where = (path: (string | number)[]) => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const { line, col } = lineCounter.linePos(node?.range?.[0] ?? 0);
    return `${file}:${line}:${col}`;
  };
  const unset: { path: (string | number)[]; name: string; what: string }[] = [];
  for (const [model, m] of Object.entries(config.models)) {
    m.replicas.forEach((r, i) => {
      const name = r.type === 'openai' ? apiKeyEnvOf(r) : undefined;
      // Named where the config says it: the replica's own apiKeyEnv, or else the preset that brings one.
      const key = r.type === 'openai' && r.apiKeyEnv ? 'apiKeyEnv' : 'preset';
      if (name) unset.push({ path: ['models', model, 'replicas', i, key], name, what: 'calls to this replica will carry no API key' });
    });
  }
  const embeddings = config.reasoning.retrieval?.embeddings;
  if (embeddings?.apiKeyEnv)
    unset.push({ path: ['reasoning', 'retrieval', 'embeddings', 'apiKeyEnv'], name: embeddings.apiKeyEnv, what: 'embedding calls will carry no API key' });
  return unset
    .filter((u) => !env[u.name])
    .map((u) => `${where(u.path)}: ${u.path.join('.').replace(/\.(\d+)\./g, '[$1].')}: $${u.name} is not set here; ${u.what}`);
}

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
    .description('validate a gateway config; every problem is named with its line and key')
    .action(async (file: string) => {
      try {
        const parsed = await loadGatewayConfig(file);
        for (const w of warnings(parsed, file)) process.stderr.write(`warning: ${w}\n`);
        const models = Object.entries(parsed.models).map(([name, m]) => `${name} (${plural(m.replicas.length, 'replica')}, ${m.policy})`);
        process.stdout.write(`${file}: ok: ${models.join(', ')}\n`);
      } catch (err) {
        if (!(err instanceof ConfigError) || err.problems.length < 2) fail(err);
        for (const problem of err.problems) process.stderr.write(`${problem}\n`);
        fail(new Error(`${file}: ${plural(err.problems.length, 'problem')}`));
      }
    });
}
