// Open-AutoGLM as a library: the embedded engine, the servers, the ChatModel contract and its errors, and config
// loading. Only what is listed here is the package's API; everything else is the inside of its rooms.

// A model in the program, no server: load, generate, stream, chat.
export { ModelEngine, type GenerateOptions } from './engines/llama/index.js';
// The embedded engine as a ChatModel, and the model files it reads.
export { LlamaEngine, resolveModel, quantizeModel, type EngineStats, type ResolvedModel, type QuantizeResult } from './engines/llama/index.js';

// The servers `autoglm serve` and `autoglm sim` start.
export {
  serveModel,
  serveGateway,
  serveSim,
  type ServeOptions,
  type RunningServer,
  type ServedModels,
  type GatewayServer,
  type SimServer,
} from './server/index.js';

// The one contract every layer speaks, and the helpers that call it.
export {
  complete,
  collect,
  isOutput,
  type CallContext,
  type CallReport,
  type ChatChunk,
  type ChatCompletion,
  type ChatInput,
  type ChatMessage,
  type ChatModel,
  type ChatRequest,
  type CompletedChoice,
  type ContentPart,
  type FinishReason,
  type ModelInfo,
  type ReasoningOptions,
  type ResponseFormat,
  type StrategyName,
  type TokenLogprob,
  type TokenProbability,
  type ToolCall,
  type ToolChoice,
  type ToolDefinition,
  type Usage,
} from './core/index.js';

// Errors: one type with OpenAI's error shape, a model that cannot be had, a config that does not validate.
export { AutoglmError, ModelUnavailableError, type ErrorType, type OpenAIErrorBody } from './core/index.js';
export { ConfigError } from './config/index.js';

// Config: load and check a gateway file, its JSON Schema, and the settings the entry points take.
export {
  loadGatewayConfig,
  parseGatewayConfig,
  gatewayJsonSchema,
  modelPathsFromEnv,
  type GatewayConfig,
  type GatewayConfigInput,
  type EngineSettingsInput,
  type ServerSettings,
  type ModelPaths,
  type SimSettingsInput,
  type TenancySettingsInput,
  type ReasoningConfig,
} from './config/index.js';
