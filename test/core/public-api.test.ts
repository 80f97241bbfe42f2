// The package's door: it exports the API the README documents (the embedded engine, the servers, the ChatModel
// contract, errors, config loading) and none of the internals (hashes, exhaustiveness checks, metrics plumbing).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as api from '../../src/index.js';
import { repoRoot } from '../support/server.js';

const VALUES = [
  'AutoglmError',
  'ConfigError',
  'LlamaEngine',
  'ModelEngine',
  'ModelUnavailableError',
  'collect',
  'complete',
  'gatewayJsonSchema',
  'isOutput',
  'loadGatewayConfig',
  'modelPathsFromEnv',
  'parseGatewayConfig',
  'quantizeModel',
  'resolveModel',
  'serveGateway',
  'serveModel',
  'serveSim',
];

// The exported types, named once for the compiler (a type dropped from the door fails the typecheck) and once for
// the README check below.
type ExportedTypes = [
  api.GenerateOptions,
  api.EngineStats,
  api.ResolvedModel,
  api.QuantizeResult,
  api.ServeOptions,
  api.RunningServer,
  api.ServedModels,
  api.GatewayServer,
  api.SimServer,
  api.CallContext,
  api.CallReport,
  api.ChatChunk,
  api.ChatCompletion,
  api.ChatInput,
  api.ChatMessage,
  api.ChatModel,
  api.ChatRequest,
  api.CompletedChoice,
  api.ContentPart,
  api.FinishReason,
  api.ModelInfo,
  api.ReasoningOptions,
  api.ResponseFormat,
  api.StrategyName,
  api.TokenLogprob,
  api.TokenProbability,
  api.ToolCall,
  api.ToolChoice,
  api.ToolDefinition,
  api.Usage,
  api.ErrorType,
  api.OpenAIErrorBody,
  api.GatewayConfig,
  api.GatewayConfigInput,
  api.EngineSettingsInput,
  api.ServerSettings,
  api.ModelPaths,
  api.SimSettingsInput,
  api.TenancySettingsInput,
  api.ReasoningConfig,
];
const TYPES = [
  'GenerateOptions',
  'EngineStats',
  'ResolvedModel',
  'QuantizeResult',
  'ServeOptions',
  'RunningServer',
  'ServedModels',
  'GatewayServer',
  'SimServer',
  'CallContext',
  'CallReport',
  'ChatChunk',
  'ChatCompletion',
  'ChatInput',
  'ChatMessage',
  'ChatModel',
  'ChatRequest',
  'CompletedChoice',
  'ContentPart',
  'FinishReason',
  'ModelInfo',
  'ReasoningOptions',
  'ResponseFormat',
  'StrategyName',
  'TokenLogprob',
  'TokenProbability',
  'ToolCall',
  'ToolChoice',
  'ToolDefinition',
  'Usage',
  'ErrorType',
  'OpenAIErrorBody',
  'GatewayConfig',
  'GatewayConfigInput',
  'EngineSettingsInput',
  'ServerSettings',
  'ModelPaths',
  'SimSettingsInput',
  'TenancySettingsInput',
  'ReasoningConfig',
];
export type { ExportedTypes };

describe('the package exports', () => {
  it('exactly the documented values', () => {
    assert.deepEqual(Object.keys(api).sort(), [...VALUES].sort());
  });

  it('none of the internals', () => {
    const leaked = [
      'FNV_OFFSET',
      'fnv1a',
      'fnv1aString',
      'assertNever',
      'ServerMetrics',
      'withMetrics',
      'buildApp',
      'startServer',
      'systemClock',
      'seededRandom',
      'promptTextOf',
      'SIM_PRESETS',
    ].filter((name) => name in api);
    assert.deepEqual(leaked, []);
  });

  it('everything the README\'s "As a library" section names', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## As a library'), readme.indexOf('\n## ', readme.indexOf('## As a library') + 1));
    const imported = [...section.matchAll(/import \{([^}]+)\} from 'open-autoglm'/g)].flatMap((m) => m[1]!.split(',').map((n) => n.trim()));
    // The first column of the table names exports; what is in parentheses there is their methods.
    const tabled = section
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .flatMap((l) =>
        [
          ...l
            .split(' | ')[0]!
            .replace(/\([^)]*\)/g, '')
            .matchAll(/`(\w+)`/g),
        ].map((m) => m[1]!),
      );
    assert.ok(imported.length >= 3 && tabled.length >= 15, `the section names its exports: ${imported.join(', ')}; ${tabled.join(', ')}`);
    const missing = [...new Set([...imported, ...tabled])].filter((name) => !(name in api) && !TYPES.includes(name));
    assert.deepEqual(missing, [], 'names the README promises but the package does not export');
  });

  it('serves a gateway and answers through its contract, all from the package door', async () => {
    const gateway = await api.serveGateway(
      api.parseGatewayConfig("database: ':memory:'\nmodels:\n  chat: { replicas: [{ type: sim, preset: instant, outputTokens: 3 }] }\n"),
      { serverOverrides: { port: 0 } },
    );
    try {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.status, 200);
      const model: api.ChatModel = gateway.served.model;
      const result = await api.complete(
        model,
        { model: 'chat', input: { type: 'text', text: 'hi' }, stop: [], responseFormat: { type: 'text' }, n: 1 },
        { signal: AbortSignal.timeout(10_000), requestId: 'lib' },
      );
      assert.equal(result.usage.completionTokens, 3);
      assert.throws(
        () => api.parseGatewayConfig('models: { chat: { replicas: [{ type: nope }] } }', 'bad.yaml'),
        (e) => e instanceof api.ConfigError && /bad\.yaml:1:\d+/.test(e.message),
      );
    } finally {
      await gateway.close();
    }
  });
});
