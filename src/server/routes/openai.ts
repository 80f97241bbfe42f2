// OpenAI wire format: /v1/models, /v1/chat/completions and /v1/completions, whole or as SSE.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { complete, type ChatRequest } from '../../core/index.js';
import { servingModel, type ServingState } from '../app.js';
import { chatCompletionToWire, chatStreamEncoder, completionStreamEncoder, textCompletionToWire, type StreamEncoder } from '../openai-wire.js';
import { chatCompletionBody, chatRequestFromChat, chatRequestFromCompletion, completionBody, parseBody } from '../request-schema.js';
import { callContext, openStream, writeSse } from '../streaming.js';

interface Call {
  req: ChatRequest;
  stream: boolean;
  includeUsage: boolean;
}

export const openAIRoutes = (state: ServingState): FastifyPluginAsync => async (app) => {
  const modelObject = (m: { id: string; created: number; ownedBy: string }) => ({ id: m.id, object: 'model', created: m.created, owned_by: m.ownedBy });

  app.get('/v1/models', { config: { scope: 'inference' } }, async (request) => {
    // A tenant (or key) limited to some models sees only those.
    const may = request.principal && state.tenancy ? state.tenancy.modelFilter(request.principal) : () => true;
    return { object: 'list', data: (state.model?.models() ?? []).filter((m) => may(m.id)).map(modelObject) };
  });

  app.get<{ Params: { id: string } }>('/v1/models/:id', { config: { scope: 'inference' } }, async (request) => {
    const model = servingModel(state, request.params.id);
    return modelObject(model.models().find((m) => m.id === request.params.id)!);
  });

  /** Shared by both endpoints: only the encoders differ. `answered` is the model that answered (a version of a release). */
  async function serve(request: FastifyRequest, reply: FastifyReply, call: Call, encoders: {
    stream: (answered: string) => StreamEncoder;
    whole: (result: Awaited<ReturnType<typeof complete>>, answered: string) => object;
  }) {
    const model = servingModel(state, call.req.model);
    const ctx = callContext(request, reply, state.inflight);
    if (!call.stream) {
      const result = await complete(model, call.req, ctx);
      reply.headers(ctx.report!.headers);
      const wire = encoders.whole(result, ctx.report!.model ?? call.req.model);
      // What the reasoning layer did rides along as an extra field, which OpenAI clients ignore.
      return ctx.report!.reasoning ? { ...wire, reasoning: ctx.report!.reasoning } : wire;
    }
    const opened = await openStream(model, call.req, ctx);
    await writeSse(reply, opened, encoders.stream(ctx.report!.model ?? call.req.model), ctx.signal, ctx.report!.headers);
    return reply;
  }

  app.post('/v1/chat/completions', { config: { scope: 'inference' } }, async (request, reply) => {
    const body = parseBody(chatCompletionBody, request.body);
    const call = { req: chatRequestFromChat(body), stream: Boolean(body.stream), includeUsage: Boolean(body.stream_options?.include_usage) };
    return serve(request, reply, call, {
      stream: (answered) => chatStreamEncoder({ model: answered, includeUsage: call.includeUsage }),
      whole: (result, answered) => chatCompletionToWire(answered, result),
    });
  });

  app.post('/v1/completions', { config: { scope: 'inference' } }, async (request, reply) => {
    const body = parseBody(completionBody, request.body);
    const call = { req: chatRequestFromCompletion(body), stream: Boolean(body.stream), includeUsage: Boolean(body.stream_options?.include_usage) };
    const echo = body.echo && call.req.input.type === 'text' ? call.req.input.text : undefined;
    return serve(request, reply, call, {
      stream: (answered) => withEcho(completionStreamEncoder({ model: answered, includeUsage: call.includeUsage }), echo),
      whole: (result, answered) => textCompletionToWire(answered, result, echo),
    });
  });
};

/** `echo`: the prompt is sent back as the first text of every choice. */
function withEcho(encoder: StreamEncoder, echo: string | undefined): StreamEncoder {
  if (!echo) return encoder;
  const echoed = new Set<number>();
  return {
    encode(chunk) {
      if ((chunk.type === 'text-delta' || chunk.type === 'finish') && !echoed.has(chunk.index)) {
        echoed.add(chunk.index);
        return [...encoder.encode({ type: 'text-delta', index: chunk.index, text: echo }), ...encoder.encode(chunk)];
      }
      return encoder.encode(chunk);
    },
  };
}
