// Door of the openai room: remote OpenAI-compatible engines.
export { OpenAIEngine, type OpenAIEngineOptions } from './openai-engine.js';
export { UPSTREAM_PRESETS, UPSTREAM_PRESET_NAMES, apiKeyEnvOf, type UpstreamPresetName } from './presets.js';
export { retryAfterSeconds, errorFromUpstreamStatus } from './upstream-errors.js';
export { OpenAIEmbedder, type UpstreamEndpoint } from './openai-embedder.js';
