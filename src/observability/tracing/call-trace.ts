// The spans one call's layers open, over the OpenTelemetry API: each runs its step inside its own span's context, so
// what that step calls (an upstream attempt, a reasoning call) nests under it and carries its traceparent.
import { context, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { CallTrace, TraceAttributes, TraceSpan } from '../../core/index.js';

/** A span as the layers see it: attributes to add, nothing else of OpenTelemetry. */
class StepSpan implements TraceSpan {
  constructor(readonly span: Span) {}

  set(attributes: TraceAttributes): void {
    for (const key in attributes) {
      const value = attributes[key];
      if (value !== undefined) this.span.setAttribute(key, value);
    }
  }
}

/** Errors end a span with an ERROR status and the error's message; an AutoglmError's HTTP status rides along. */
export function failSpan(span: Span, err: unknown): void {
  const { status, code } = (typeof err === 'object' && err !== null ? err : {}) as { status?: unknown; code?: unknown };
  if (typeof status === 'number') span.setAttribute('http.response.status_code', status);
  // error.type is the stable code (upstream_error, rate_limit_exceeded) where there is one, else the error's class.
  span.setAttribute('error.type', code !== undefined && code !== null ? String(code) : err instanceof Error ? err.name : 'error');
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

const setter = { set: (carrier: string[], key: string, value: string) => void carrier.push(key, value) };

export class OtelCallTrace implements CallTrace {
  constructor(
    private readonly tracer: Tracer,
    private readonly propagator: W3CTraceContextPropagator,
  ) {}

  async span<T>(name: string, attributes: TraceAttributes, run: (span: TraceSpan) => Promise<T>): Promise<T> {
    const parent: Context = context.active();
    const span = this.tracer.startSpan(name, {}, parent);
    const step = new StepSpan(span);
    step.set(attributes);
    try {
      return await context.with(trace.setSpan(parent, span), () => run(step));
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  inject(headers: string[]): void {
    this.propagator.inject(context.active(), headers, setter);
  }
}
