// Door of the tracing room: OpenTelemetry traces of requests and their steps, exported over OTLP/HTTP.
export { Tracing } from './tracing.js';
export { RequestTrace, type RequestOutcome } from './request-trace.js';
