// Fuzzing /v1/ws past the handshake: each message, however broken, gets its replies and then [DONE], errors in
// OpenAI's shape and never a server error; a message past the size limit closes the socket with 1009, and nothing else does.
import WebSocket from 'ws';
import type { Random } from '../../src/core/index.js';
import { bases, EACH_TYPE, ODD, shuffled, withValue } from './body-cases.js';
import { chatCompletionBody, completionBody } from '../../src/server/request-schema.js';

export interface WsMessage {
  name: string;
  data: string | Buffer;
  binary?: boolean;
}

export function wsMessages(rng: Random, model: string): WsMessage[] {
  const b = bases(model);
  const messages: WsMessage[] = [
    { name: 'not JSON', data: 'hello' },
    { name: 'an empty message', data: '' },
    { name: 'null', data: 'null' },
    { name: 'an array', data: '[1,2]' },
    { name: 'a number', data: '42' },
    { name: 'cut JSON', data: JSON.stringify(b.chat).slice(0, 20) },
    { name: 'a binary frame', data: Buffer.from(JSON.stringify(b.chat)), binary: true },
    { name: 'an empty object', data: '{}' },
    { name: 'both prompt and messages', data: JSON.stringify({ ...b.chat, prompt: 'x' }) },
    { name: '100k nested arrays', data: `${'['.repeat(100_000)}${']'.repeat(100_000)}` },
    { name: 'a valid chat', data: JSON.stringify(b.chat) },
    { name: 'a valid completion', data: JSON.stringify(b.completion) },
  ];
  for (const [name, base, schema] of [
    ['chat', b.chat, chatCompletionBody],
    ['completion', b.completion, completionBody],
  ] as const) {
    for (const key of Object.keys(schema.shape)) {
      for (const value of shuffled(rng, [...EACH_TYPE, ...ODD]).slice(0, 2)) {
        messages.push({ name: `${name} with ${key} = ${JSON.stringify(value)!.slice(0, 40)}`, data: JSON.stringify(withValue(base, [key], value)) });
      }
    }
  }
  return messages;
}

/** Problems with one message's replies, read until [DONE]. */
function replyProblems(replies: string[]): string[] {
  const problems: string[] = [];
  for (const reply of replies) {
    if (reply === '[DONE]') continue;
    let json: { error?: Record<string, unknown> };
    try {
      json = JSON.parse(reply) as typeof json;
    } catch {
      problems.push(`a reply that is not JSON: ${reply.slice(0, 120)}`);
      continue;
    }
    if (!json.error) continue;
    const fields = Object.keys(json.error).sort().join(',');
    if (fields !== 'code,message,param,type') problems.push(`an error not in OpenAI's shape: ${reply.slice(0, 160)}`);
    else if (json.error.type === 'server_error') problems.push(`a server error: ${reply.slice(0, 160)}`);
  }
  return problems;
}

/** Opens a socket, resolving once it is open (or with why not). */
export function openSocket(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
  });
}

/** Sends each message on one socket, in order; returns "message: problem" lines. */
export async function fuzzSocket(url: string, headers: Record<string, string>, messages: WsMessage[], limitMs: number): Promise<string[]> {
  const socket = await openSocket(url, headers);
  const failures: string[] = [];
  let replies: string[] = [];
  let onDone: (() => void) | undefined;
  let closed: { code: number } | undefined;
  socket.on('message', (data) => {
    const text = String(data);
    replies.push(text);
    if (text === '[DONE]') onDone?.();
  });
  socket.on('close', (code) => {
    closed = { code };
    onDone?.();
  });
  try {
    for (const message of messages) {
      replies = [];
      const done = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), limitMs);
        onDone = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      socket.send(message.data, { binary: message.binary ?? false });
      const answered = await done;
      if (closed) {
        failures.push(`${message.name}: the socket closed (${closed.code})`);
        break;
      }
      if (!answered) failures.push(`${message.name}: no [DONE] within ${limitMs} ms (got ${JSON.stringify(replies.slice(0, 3))})`);
      failures.push(...replyProblems(replies).map((p) => `${message.name}: ${p}`));
    }
  } finally {
    socket.terminate();
  }
  return failures;
}

/** A message past the size limit: the socket is closed with 1009 (message too big), and a new socket still works. */
export async function oversizedMessage(url: string, headers: Record<string, string>, bytes: number, limitMs: number): Promise<number | 'no close'> {
  const socket = await openSocket(url, headers);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.terminate();
      resolve('no close');
    }, limitMs);
    socket.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    socket.on('error', () => undefined);
    socket.send('x'.repeat(bytes));
  });
}
