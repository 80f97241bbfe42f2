// Tool calls in the simulator: which function a simulated model calls, with arguments that fit its JSON Schema.
import type { ChatRequest, Random, ToolCall, ToolDefinition } from '../../core/index.js';

/**
 * The call a simulated model makes, or undefined when it answers in text. It behaves like an agent's model: with
 * `auto` it calls a tool when the last turn is the user's and answers once a tool's result is back; `required` and a
 * named function always call. The first tool offered is the one called, unless one is named.
 */
export function simulatedToolCall(req: ChatRequest, rng: Random): ToolCall | undefined {
  const tools = req.tools;
  if (!tools?.length || req.toolChoice === 'none') return undefined;
  const choice = req.toolChoice ?? 'auto';
  if (choice === 'auto') {
    const last = req.input.type === 'messages' ? req.input.messages.at(-1) : undefined;
    if (last?.role === 'tool') return undefined;
  }
  const tool = typeof choice === 'object' ? (tools.find((t) => t.name === choice.name) ?? tools[0]!) : tools[0]!;
  return { id: `call_${Math.floor(rng.next() * 2 ** 48).toString(36)}`, name: tool.name, arguments: JSON.stringify(placeholderArguments(tool)) };
}

/** A placeholder for every required property (every property, when none is marked required), by its schema type. */
function placeholderArguments(tool: ToolDefinition): Record<string, unknown> {
  const properties = (tool.parameters?.properties ?? {}) as Record<string, { type?: unknown; enum?: unknown[] }>;
  const required = Array.isArray(tool.parameters?.required) ? (tool.parameters.required as string[]) : Object.keys(properties);
  return Object.fromEntries(required.map((name) => [name, placeholder(properties[name])]));
}

function placeholder(schema: { type?: unknown; enum?: unknown[] } | undefined): unknown {
  if (schema?.enum?.length) return schema.enum[0];
  switch (Array.isArray(schema?.type) ? schema.type[0] : schema?.type) {
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object':
      return {};
    case 'null':
      return null;
    default:
      return 'sim';
  }
}

/** The arguments' text in the pieces a streaming server would send them in, a few characters each. */
export function argumentPieces(text: string, size = 8): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces.length ? pieces : [''];
}
