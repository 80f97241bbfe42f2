// Door of the sim room: the simulator engine and its prefix cache.
export { SimEngine, simTokenize, type SimStats } from './sim-engine.js';
export { PrefixCache, blockHashes } from './prefix-cache.js';
export { SimEmbedder, SIM_EMBEDDING_DIMENSIONS, SIM_EMBEDDING_MAX_TOKENS } from './sim-embedder.js';
export { META_MARKER, INSTRUCTION_WORDS, hiddenKeyWords, featuresOf, sensitiveP, bestSingleP, type PromptFeatures } from './prompt-sensitivity.js';
