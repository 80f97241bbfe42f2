// WebSocket /v1/ws: each text message is a chat (or completion) request; the reply is the same chunks as SSE, then [DONE].
import type { Duplex } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import { AutoglmError, invalidRequest, toAutoglmError, type ChatRequest } from '../../core/index.js';
import { servingModel, type ServingState } from '../app.js';
import { rawErrorResponse } from '../http-errors.js';
import { chatStreamEncoder, completionStreamEncoder, type StreamEncoder } from '../openai-wire.js';
import { chatCompletionBody, chatRequestFromChat, chatRequestFromCompletion, completionBody, parseBody } from '../request-schema.js';
import { callerContext, chunksOf, openStream } from '../streaming.js';

/** The request, and its encoder for the model that answers (a release's version, known once the call has started). */
function parseMessage(raw: string): { req: ChatRequest; encoder: (answered: string, answerKey: string) => StreamEncoder } {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (err) {
    throw invalidRequest(`The message is not valid JSON: ${(err as Error).message}`, null, 'invalid_json');
  }
  const isCompletion = typeof body === 'object' && body !== null && 'prompt' in body;
  if (isCompletion) {
    const parsed = parseBody(completionBody, body);
    const includeUsage = Boolean(parsed.stream_options?.include_usage);
    return {
      req: { ...chatRequestFromCompletion(parsed), stream: true },
      encoder: (answered, answerKey) => completionStreamEncoder({ model: answered, includeUsage, answerKey }),
    };
  }
  const parsed = parseBody(chatCompletionBody, body);
  const includeUsage = Boolean(parsed.stream_options?.include_usage);
  return {
    req: { ...chatRequestFromChat(parsed), stream: true },
    encoder: (answered, answerKey) => chatStreamEncoder({ model: answered, includeUsage, answerKey }),
  };
}

/** `queueLimitBytes`: a client that lets more than this queue up unread is cut off, which cancels its call. */
export const websocketRoutes =
  (state: ServingState, queueLimitBytes: number): FastifyPluginAsync =>
  async (app) => {
    // A handshake ws refuses (bad key, version or Upgrade) would get ws's own text/html answer; it gets ours instead.
    app.websocketServer.on('wsClientError', (err: Error, socket: Duplex) => {
      if (!socket.writable) return void socket.destroy();
      const method = err.message === 'Invalid HTTP method';
      const error = new AutoglmError(
        method ? 405 : 400,
        'invalid_request_error',
        'invalid_websocket_handshake',
        `The WebSocket handshake was refused: ${err.message}.`,
      );
      const headers: Record<string, string> = method ? { allow: 'GET' } : /Version/.test(err.message) ? { 'sec-websocket-version': '13, 8' } : {};
      socket.end(rawErrorResponse(error, headers), () => socket.destroy());
    });
    app.route({
      method: 'GET',
      url: '/v1/ws',
      config: { scope: 'inference' },
      // A plain GET is answered like every other error, saying how to connect, instead of the plugin's empty 404.
      handler: async (_request, reply) => {
        reply.header('upgrade', 'websocket');
        throw new AutoglmError(
          426,
          'invalid_request_error',
          'upgrade_required',
          'GET /v1/ws is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket).',
        );
      },
      wsHandler: (socket: WebSocket, request) => {
        const closed = new AbortController();
        state.inflight.add(closed);
        socket.once('close', () => {
          state.inflight.delete(closed);
          closed.abort(new Error('client disconnected'));
        });
        const send = (data: string | object) => {
          if (socket.readyState !== socket.OPEN) return;
          socket.send(typeof data === 'string' ? data : JSON.stringify(data));
          if (socket.bufferedAmount > queueLimitBytes) socket.terminate();
        };
        // One request at a time per socket, in the order sent, so replies never interleave.
        let queue = Promise.resolve();
        socket.on('message', (data, isBinary) => {
          queue = queue.then(async () => {
            if (closed.signal.aborted) return;
            try {
              if (isBinary) throw invalidRequest('Send requests as text messages containing JSON.', null, 'invalid_message');
              const { req, encoder: encoderFor } = parseMessage(data.toString());
              const model = servingModel(state, req.model);
              const ctx = callerContext(request, closed.signal);
              const opened = await openStream(model, req, ctx);
              const encoder = encoderFor(ctx.report.model ?? req.model, ctx.answerKey);
              try {
                for await (const chunk of chunksOf(opened)) {
                  for (const wire of encoder.encode(chunk)) send(wire);
                }
              } finally {
                await opened.rest.return?.();
              }
            } catch (err) {
              send(toAutoglmError(err).toJSON());
            }
            send('[DONE]');
          });
        });
      },
    });
  };
