// Door of the sim room: the simulator engine and its prefix cache.
export { SimEngine, simTokenize, type SimStats } from './sim-engine.js';
export { PrefixCache, blockHashes } from './prefix-cache.js';
