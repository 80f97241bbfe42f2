// Door of the config room: settings schemas and model paths.
export * from './engine-settings.js';
export * from './paths.js';
export * from './sim-settings.js';
export * from './gateway-config.js';
export * from './tenancy-config.js';
export * from './release-config.js';
export * from './reasoning-config.js';
export * from './prompts-config.js';
export * from './tracing-config.js';
