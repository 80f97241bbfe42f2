// Door of the server room: the HTTP app and the embedded-engine server.
export { buildApp, type ServingState, type AppOptions } from './app.js';
export { serveModel, startServer, type ServeOptions, type RunningServer, type ServedModels, type StartOptions } from './serve.js';
export { serveSim, type SimServer } from './sim-server.js';
export { serveGateway, type GatewayServer } from './gateway-server.js';
export { serverLogger, defaultLogFormat, LOG_FORMATS, type LogFormat } from './server-log.js';
