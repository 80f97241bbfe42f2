// Door of the server room: the HTTP app and the embedded-engine server.
export { buildApp, type ServingState, type AppOptions } from './app.js';
export { serveModel, type ServeOptions, type RunningServer } from './serve.js';
