// The span of one inference request, named and described with OpenTelemetry's GenAI semantic conventions.
import { context, SpanKind, SpanStatusCode, trace as otelTrace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import type { CallReport, CallTrace, ChatRequest, Usage } from '../../core/index.js';
import { failSpan } from './call-trace.js';

/** gen_ai.operation.name by route: every chat dialect (chat completions, Messages, Responses) is a chat. */
const OPERATIONS: Record<string, string> = {
  '/v1/completions': 'text_completion',
  '/v1/embeddings': 'embeddings',
};
const operationOf = (route: string): string => OPERATIONS[route] ?? 'chat';

/** What the request did, as the access log knows it when the response is done. */
export interface RequestOutcome {
  id: string;
  model?: string;
  usage?: Usage;
  report?: CallReport;
  principal?: { tenant: string };
  error?: unknown;
}

export class RequestTrace {
  private readonly span: Span;
  private readonly context: Context;
  private readonly operation: string;
  private described = false;

  constructor(
    tracer: Tracer,
    parent: Context,
    route: string,
    /** What the layers below are given in their CallContext. */
    readonly trace: CallTrace,
  ) {
    this.operation = operationOf(route);
    this.span = tracer.startSpan(
      this.operation,
      { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'POST', [ATTR_HTTP_ROUTE]: route, 'gen_ai.operation.name': this.operation } },
      parent,
    );
    this.context = otelTrace.setSpan(parent, this.span);
  }

  /** Runs the request's work inside its span, so every layer's span is a child of it. */
  run<T>(work: () => T): T {
    return context.with(this.context, work);
  }

  /** The request as parsed: its model names the span (`chat glm-4`), as the GenAI conventions name spans. */
  describe(req: Pick<ChatRequest, 'model'> & Partial<Pick<ChatRequest, 'maxTokens' | 'temperature'>>): void {
    this.described = true;
    this.span.updateName(`${this.operation} ${req.model}`);
    this.span.setAttribute('gen_ai.request.model', req.model);
    if (req.maxTokens !== undefined) this.span.setAttribute('gen_ai.request.max_tokens', req.maxTokens);
    if (req.temperature !== undefined) this.span.setAttribute('gen_ai.request.temperature', req.temperature);
  }

  /** Ends the span with the response's status, the model that answered, the tokens used and who asked. */
  end(outcome: RequestOutcome, status: number): void {
    const span = this.span;
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    span.setAttribute('autoglm.request_id', outcome.id);
    // Routes that do not describe their request (fastify's) name their model here.
    if (!this.described && outcome.model !== undefined) this.describe({ model: outcome.model });
    if (outcome.principal) span.setAttribute('autoglm.tenant', outcome.principal.tenant);
    if (outcome.model !== undefined) span.setAttribute('gen_ai.response.model', outcome.report?.model ?? outcome.model);
    if (outcome.report?.replica !== undefined) span.setAttribute('autoglm.replica', outcome.report.replica);
    if (outcome.report?.cache !== undefined) span.setAttribute('autoglm.cache', outcome.report.cache);
    if (outcome.usage) {
      span.setAttribute('gen_ai.usage.input_tokens', outcome.usage.promptTokens);
      span.setAttribute('gen_ai.usage.output_tokens', outcome.usage.completionTokens);
    }
    // A server span is an error only when the server failed (5xx); a client's mistake is the client's.
    if (status >= 500) {
      if (outcome.error !== undefined) failSpan(span, outcome.error);
      else span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}
