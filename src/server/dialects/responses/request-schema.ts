// The body of POST /v1/responses, validated with zod: what we serve is typed here, and what we cannot honour (built-in
// tools, background runs, reasoning effort, other item types) is refused by name instead of being dropped.
import { z } from 'zod';

/** OpenAI's rule for function names, so a bad one is refused here rather than by whichever upstream is chosen. */
const functionName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a function name is 1 to 64 letters, digits, underscores or dashes');

const inputText = z.object({ type: z.literal('input_text'), text: z.string() });
const inputImage = z.object({
  type: z.literal('input_image'),
  image_url: z.string().regex(/^(https?:|data:image\/)/, 'an image URL is http(s): or a data:image/... URL'),
  file_id: z.null({ error: 'images by file_id are not served here; send image_url (an https: or data: URL)' }).optional(),
  detail: z.enum(['auto', 'low', 'high', 'original']).nullish(),
});
const outputText = z.object({ type: z.literal('output_text'), text: z.string(), annotations: z.array(z.unknown()).optional() });
const refusal = z.object({ type: z.literal('refusal'), refusal: z.string() });

const contentPart = z.discriminatedUnion('type', [inputText, inputImage, outputText, refusal], {
  error: 'send input_text, input_image (by image_url) or output_text parts',
});

const itemStatus = z.enum(['in_progress', 'completed', 'incomplete']).nullish();

const messageItem = z.object({
  type: z.literal('message'),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(contentPart)]),
  id: z.string().nullish(),
  status: itemStatus,
});

const functionCallItem = z.object({
  type: z.literal('function_call'),
  call_id: z.string().min(1),
  name: functionName,
  arguments: z.string(),
  id: z.string().nullish(),
  status: itemStatus,
});

const functionCallOutputItem = z.object({
  type: z.literal('function_call_output'),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(z.discriminatedUnion('type', [inputText], { error: 'send the output as text (a string or input_text parts)' }))]),
  id: z.string().nullish(),
  status: itemStatus,
});

/** An item without a type but with a role is a message (OpenAI's EasyInputMessage). */
const inputItem = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) && !('type' in v) && 'role' in v ? { ...v, type: 'message' } : v),
  z.discriminatedUnion('type', [messageItem, functionCallItem, functionCallOutputItem], {
    error: 'send message, function_call or function_call_output items',
  }),
);

const functionTool = z.object({
  type: z.literal('function'),
  name: functionName,
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const tool = z.discriminatedUnion('type', [functionTool], {
  error: "built-in tools (web_search, file_search, code_interpreter, ...) are not offered; send function tools ({type: 'function', name, parameters})",
});

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required'], { error: "send 'auto', 'none', 'required' or {type: 'function', name}" }),
  z.discriminatedUnion('type', [z.strictObject({ type: z.literal('function'), name: functionName })], {
    error: "built-in tools are not offered; send 'auto', 'none', 'required' or {type: 'function', name}",
  }),
]);

const textFormat = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('text') }),
    z.object({ type: z.literal('json_object') }),
    z.object({
      type: z.literal('json_schema'),
      name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a format name is 1 to 64 letters, digits, underscores or dashes'),
      schema: z.record(z.string(), z.unknown()),
      description: z.string().nullish(),
      strict: z.boolean().nullish(),
    }),
  ],
  { error: "send {type: 'text'}, {type: 'json_object'} or {type: 'json_schema', name, schema}" },
);

const metadata = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, 'metadata holds at most 16 keys')
  .nullish();

export const responsesBody = z.strictObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(inputItem).max(10_000)]).optional(),
  instructions: z.string().nullish(),
  max_output_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  tools: z.array(tool).max(128).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z
    .strictObject({ format: textFormat.nullish(), verbosity: z.null({ error: 'verbosity is not something this server can honour' }).optional() })
    .nullish(),
  metadata,
  user: z.string().optional(),
  safety_identifier: z.string().max(64).nullish(),
  prompt_cache_key: z.string().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_obfuscation: z.boolean().nullish() }).nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().min(1).nullish(),
  /** Generate all max_output_tokens past end-of-sequence (vLLM's and llama.cpp's extension), for benchmarks. */
  ignore_eos: z.boolean().nullish(),
  // Fields OpenAI takes that we cannot honour are refused by name; null or their neutral value is accepted.
  background: z.literal(false, { error: 'background responses are not served here; send background: false or leave it out' }).nullish(),
  reasoning: z
    .null({
      error:
        "reasoning effort is not something this server can honour; leave 'reasoning' out (AutoGLM strategies are chosen by a model prefix such as 'sc:<model>')",
    })
    .optional(),
  include: z.array(z.never({ error: 'extra output data (include) is not served here' })).nullish(),
  truncation: z.literal('disabled', { error: "automatic truncation is not served here; send truncation: 'disabled' or leave it out" }).nullish(),
  service_tier: z.enum(['auto', 'default'], { error: "only the 'auto' / 'default' service tier is served here" }).nullish(),
  top_logprobs: z.literal(0, { error: 'log probabilities are served on /v1/chat/completions (logprobs: true, top_logprobs: n)' }).nullish(),
});

export type ResponsesBody = z.infer<typeof responsesBody>;
export type InputItem = Exclude<ResponsesBody['input'], string | undefined>[number];
export type FunctionTool = z.infer<typeof functionTool>;
export type TextFormat = z.infer<typeof textFormat>;
