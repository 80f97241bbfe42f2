// Test support: the real server on the real model file, on a free loopback port.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { serveModel, type RunningServer, type ServeOptions } from '../../src/server/index.js';
import { modelPathsFromEnv, type EngineSettingsInput } from '../../src/config/index.js';

export const repoRoot = resolve(import.meta.dirname, '../..');
/** The shared model folder beside the checkout, unless the environment names another. */
export const modelMirror = process.env.AUTOGLM_MODEL_MIRROR ?? resolve(repoRoot, '../shared/models');
export const storiesPath = resolve(modelMirror, 'stories260K.gguf');

// The usage ledger and tenant store of every server a test starts (and of its child processes) go to a fresh folder.
process.env.AUTOGLM_DATA_DIR ??= mkdtempSync(join(tmpdir(), 'autoglm-test-data-'));

if (!existsSync(storiesPath)) throw new Error(`test model not found at ${storiesPath}; set AUTOGLM_MODEL_MIRROR`);

export function testPaths(cacheDir?: string) {
  return { ...modelPathsFromEnv({ ...process.env, AUTOGLM_MODEL_MIRROR: modelMirror, ...(cacheDir ? { AUTOGLM_CACHE_DIR: cacheDir } : {}) }) };
}

export async function startServer(engine: EngineSettingsInput = {}, extra: Partial<ServeOptions> = {}): Promise<RunningServer> {
  return serveModel({ engine: { model: 'stories260K', threads: 1, ...engine }, server: { port: 0, ...extra.server }, paths: testPaths() });
}

export function openaiClient(server: RunningServer): OpenAI {
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
}
