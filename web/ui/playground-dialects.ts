// The playground's wire dialects: how a prompt becomes a streamed request, and how each stream's events carry text.
// The same prompt can be sent as OpenAI chat completions, OpenAI Responses or Anthropic Messages, to see that every
// dialect the server speaks answers alike.

export type Dialect = 'chat' | 'responses' | 'messages';

export const DIALECTS: { id: Dialect; label: string }[] = [
  { id: 'chat', label: 'Chat Completions' },
  { id: 'responses', label: 'Responses' },
  { id: 'messages', label: 'Anthropic Messages' },
];

/** What one SSE event said: some text, an error, or nothing a person reads. */
export type EventText = { text: string } | { error: string } | undefined;

interface DialectWire {
  path: string;
  body(model: string, prompt: string, maxTokens: number): object;
  /** One event, by its `event:` name (absent for OpenAI's chat) and its parsed data. */
  read(event: string | undefined, data: unknown): EventText;
}

type Json = Record<string, unknown>;
const field = (value: unknown, key: string): unknown => (value && typeof value === 'object' ? (value as Json)[key] : undefined);
const errorMessage = (value: unknown): string | undefined => {
  const message = field(field(value, 'error'), 'message');
  return typeof message === 'string' ? message : undefined;
};

const WIRES: Record<Dialect, DialectWire> = {
  chat: {
    path: '/v1/chat/completions',
    body: (model, prompt, maxTokens) => ({ model, messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, stream: true }),
    read(_event, data) {
      const error = errorMessage(data);
      if (error) return { error };
      const text = field(field((field(data, 'choices') as unknown[] | undefined)?.[0], 'delta'), 'content');
      return typeof text === 'string' && text ? { text } : undefined;
    },
  },
  responses: {
    path: '/v1/responses',
    body: (model, prompt, maxTokens) => ({ model, input: prompt, max_output_tokens: maxTokens, stream: true, store: false }),
    read(event, data) {
      if (event === 'response.output_text.delta') {
        const text = field(data, 'delta');
        return typeof text === 'string' ? { text } : undefined;
      }
      if (event === 'response.failed') return { error: errorMessage(field(data, 'response')) ?? 'the response failed' };
      if (event === 'error') return { error: String(field(data, 'message') ?? errorMessage(data) ?? 'stream error') };
      return undefined;
    },
  },
  messages: {
    path: '/v1/messages',
    body: (model, prompt, maxTokens) => ({ model, max_tokens: maxTokens, messages: [{ role: 'user', content: prompt }], stream: true }),
    read(event, data) {
      if (event === 'content_block_delta' && field(field(data, 'delta'), 'type') === 'text_delta') {
        const text = field(field(data, 'delta'), 'text');
        return typeof text === 'string' ? { text } : undefined;
      }
      if (event === 'error') return { error: errorMessage(data) ?? 'stream error' };
      return undefined;
    },
  },
};

/** Streams a prompt in the dialect, calling `onText` with each piece of the answer; throws the server's error message. */
export async function streamPrompt(
  dialect: Dialect,
  model: string,
  prompt: string,
  headers: Record<string, string>,
  onText: (text: string) => void,
): Promise<void> {
  const wire = WIRES[dialect];
  const res = await fetch(wire.path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(wire.body(model, prompt, 128)),
  });
  // Every dialect's error body carries `error.message` (OpenAI's and Anthropic's shapes alike).
  if (!res.ok || !res.body) throw new Error(errorMessage(await res.json().catch(() => undefined)) ?? `HTTP ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const events = buffer.split('\n\n');
    buffer = events.pop() ?? '';
    for (const raw of events) {
      let name: string | undefined;
      let data = '';
      for (const line of raw.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (!data || data === '[DONE]') continue;
      const said = wire.read(name, JSON.parse(data));
      if (said && 'error' in said) throw new Error(said.error);
      if (said) onText(said.text);
    }
  }
}
