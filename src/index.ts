// Open-AutoGLM as a library: the ChatModel contract, the embedded engine, and the server.
export * from './core/index.js';
export * from './config/index.js';
export { ModelEngine, LlamaEngine, quantizeModel, resolveModel, ModelUnavailableError, type GenerateOptions } from './engines/llama/index.js';
export { buildApp, serveModel, type RunningServer, type ServeOptions } from './server/index.js';
export { ServerMetrics, withMetrics } from './observability/index.js';
