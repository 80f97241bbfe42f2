// POST /infer: the smallest possible API, a prompt in and text out, for scripts and health probes.
import type { FastifyPluginAsync } from 'fastify';
import { complete } from '../../core/index.js';
import { servingModel, type ServingState } from '../app.js';
import { usageToWire, finishReasonToWire } from '../openai-wire.js';
import { chatRequestFromInfer, inferBody, parseBody } from '../request-schema.js';
import { callContext } from '../streaming.js';

export const inferRoutes =
  (state: ServingState): FastifyPluginAsync =>
  async (app) => {
    app.post('/infer', { config: { scope: 'inference' } }, async (request, reply) => {
      const started = performance.now();
      const body = parseBody(inferBody, request.body);
      const req = chatRequestFromInfer(body, state.defaultModel ?? '');
      request.exchange.model = req.model;
      const model = servingModel(state, req.model);
      const ctx = callContext(request, request.raw.socket, reply.raw, state.inflight);
      request.exchange.report = ctx.report;
      const result = await complete(model, req, ctx);
      request.exchange.usage = result.usage;
      reply.headers(ctx.report.headers);
      const choice = result.choices[0];
      return {
        text: choice?.text ?? '',
        finish_reason: finishReasonToWire(choice?.finishReason ?? 'stop'),
        usage: usageToWire(result.usage),
        model: req.model,
        latency_ms: Math.round((performance.now() - started) * 100) / 100,
      };
    });
  };
