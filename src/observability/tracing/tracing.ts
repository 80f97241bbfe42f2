// The tracing SDK of one server: a tracer provider exporting over OTLP/HTTP, started with the server and flushed when
// it closes. Not registered as the process's global provider: two servers in one process (tests, a gateway beside a
// simulator) each keep their own.
import { context, ROOT_CONTEXT, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TracingSettings } from '../../config/index.js';
import { OtelCallTrace } from './call-trace.js';
import { RequestTrace } from './request-trace.js';
import type { IncomingHttpHeaders } from 'node:http';

let contextManagerSet = false;

/** Spans follow async calls through AsyncLocalStorage; set once per process, the first time a server traces. */
function ensureContextManager(): void {
  if (contextManagerSet) return;
  contextManagerSet = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

export class Tracing {
  private readonly tracer: Tracer;
  private readonly propagator = new W3CTraceContextPropagator();
  /** One per server: it holds no per-request state, the active context says which span is current. */
  private readonly callTrace: OtelCallTrace;

  private constructor(private readonly provider: BasicTracerProvider) {
    this.tracer = provider.getTracer('open-autoglm');
    this.callTrace = new OtelCallTrace(this.tracer, this.propagator);
  }

  /**
   * The exporter takes its URL from the settings, else from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
   * OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces); the sampler from the ratio, else from OTEL_TRACES_SAMPLER(_ARG).
   */
  static start(settings: TracingSettings, warn: (message: string) => void = () => {}): Tracing {
    ensureContextManager();
    const exporter = new ExportFailureWarning(new OTLPTraceExporter(settings.endpoint ? { url: settings.endpoint } : {}), warn);
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
      spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
      ...(settings.sampleRatio !== undefined && { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }) }),
    });
    return new Tracing(provider);
  }

  /** The span of one request, a child of the caller's `traceparent` when it sent one. */
  request(headers: IncomingHttpHeaders, route: string): RequestTrace {
    const parent = this.propagator.extract(ROOT_CONTEXT, headers, headerGetter);
    return new RequestTrace(this.tracer, parent, route, this.callTrace);
  }

  /** Exports what is still buffered, then stops. */
  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}

/**
 * Says once, in the server's log, that spans could not be exported (a wrong endpoint, a collector down), and again
 * after exports have worked since: OpenTelemetry's own diagnostics are silent unless a diag logger is set.
 */
class ExportFailureWarning implements SpanExporter {
  private failing = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly warn: (message: string) => void,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.failing = false;
      else if (!this.failing) {
        this.failing = true;
        this.warn(`tracing: could not export ${spans.length} span(s): ${result.error?.message ?? 'unknown error'}`);
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

const headerGetter = {
  get: (headers: IncomingHttpHeaders, key: string) => headers[key],
  keys: (headers: IncomingHttpHeaders) => Object.keys(headers),
};
