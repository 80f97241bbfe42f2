// Door of the core room: the ChatModel contract, errors, and the wrappers every layer may use.
export * from './chat-model.js';
export * from './embedding-model.js';
export * from './errors.js';
export { withChoices } from './choices.js';
export { AbortFanOut, watchAbort } from './abort-fan-out.js';
export { precededBy, watchStream, type StreamSource, type StreamWatch } from './watched-stream.js';
export { systemClock, seededRandom, type Clock, type Random } from './clock.js';
export { fnv1a, fnv1aString, FNV_OFFSET } from './hash.js';
