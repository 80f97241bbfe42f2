// Tool calling on the embedded engine: the chat wrapper's function-call syntax as one grammar, and the calls read back.
//
// Why not node-llama-cpp's LlamaChat (generateResponse with `functions`): it drives its own evaluation of a context
// sequence, so a call would leave our slots, prefix reuse and step-synchronous decode scheduler (DecodeSteps) for the
// whole answer. Instead the wrapper's own syntax (settings.functions: call prefix, params prefix, suffix, parallelism)
// becomes a grammar that our ordinary sequence.evaluate loop samples under, and the calls are parsed back from the text
// with that same syntax. A model whose template knows tools gets its wrapper's syntax; the others get the generic one.
import { randomBytes } from 'node:crypto';
import { ChatWrapper, LlamaText, SpecialTokensText, type ChatModelFunctions, type GbnfJsonSchema, type Llama, type LlamaGrammar } from 'node-llama-cpp';
import { AutoglmError, invalidRequest, type ChatChunk, type ToolChoice, type ToolDefinition } from '../../core/index.js';
import { AnswerCheck, jsonSchemaGrammar } from './structured-output.js';

/** Calls one answer may make when parallel calls are allowed: a bound, so a rambling model ends its turn. */
const MAX_PARALLEL_CALLS = 8;
/** What a function without `parameters` takes: an object, as OpenAI sends `{}`. */
const NO_PARAMETERS = { type: 'object', properties: {} };
/** The end marker node-llama-cpp's JSON grammars close with; a call's arguments are followed by the call's suffix instead. */
const JSON_GRAMMAR_END = /[ \t]*"\\n\\n\\n\\n" \[\\n\]\*[ \t]*$/m;

type TextLike = string | LlamaText;

/** A wrapper's call syntax as plain text (null when a part of it is a builtin token that text cannot spell). */
export interface CallSyntax {
  prefix: string;
  /** Other prefixes the model may start a call with. */
  alternatePrefixes: string[];
  paramsPrefix(name: string): string;
  suffix(name: string): string;
  sectionPrefix: string;
  betweenCalls: string;
  sectionSuffix: string;
}

function plain(value: TextLike | undefined): string | undefined {
  if (value === undefined) return '';
  let text = '';
  const parts = LlamaText(value).values;
  for (const [i, part] of parts.entries()) {
    if (typeof part === 'string') text += part;
    else if (part instanceof SpecialTokensText) text += part.value;
    // A builtin token that ends the syntax (Mistral's EOS after its calls) ends the answer anyway: generation stops there.
    else if (i !== parts.length - 1) return undefined;
  }
  return text;
}

function syntaxOf(functions: ChatWrapper['settings']['functions']): CallSyntax | undefined {
  const { call, parallelism } = functions;
  const prefix = plain(call.prefix);
  const paramsPrefix = plain(call.paramsPrefix);
  const suffix = plain(call.suffix);
  const sectionPrefix = plain(parallelism?.call.sectionPrefix);
  // A wrapper without parallel syntax writes each call on a line of its own.
  const betweenCalls = parallelism ? plain(parallelism.call.betweenCalls) : '\n';
  const sectionSuffix = plain(parallelism?.call.sectionSuffix);
  if ([prefix, paramsPrefix, suffix, sectionPrefix, betweenCalls, sectionSuffix].some((t) => t === undefined) || !prefix) return undefined;
  const alternatePrefixes = (call.prefixAlternateMatches ?? []).map(plain).filter((t): t is string => Boolean(t));
  return {
    prefix,
    alternatePrefixes,
    paramsPrefix: (name) => paramsPrefix!.replaceAll('{{functionName}}', name),
    suffix: (name) => suffix!.replaceAll('{{functionName}}', name),
    sectionPrefix: sectionPrefix!,
    betweenCalls: betweenCalls!,
    sectionSuffix: sectionSuffix!,
  };
}

/** The wrapper's own call syntax, or the generic one (node-llama-cpp's default `||call: name(params)`). */
export function callSyntax(wrapper: ChatWrapper): CallSyntax {
  return syntaxOf(wrapper.settings.functions) ?? syntaxOf(ChatWrapper.defaultSettings.functions)!;
}

/** The tools as the chat wrapper documents them in the prompt. */
export function wrapperFunctions(tools: readonly ToolDefinition[]): ChatModelFunctions {
  return Object.fromEntries(
    tools.map((t) => [t.name, { description: t.description, params: (t.parameters ?? NO_PARAMETERS) as GbnfJsonSchema }]),
  ) as ChatModelFunctions;
}

/** A GBNF string literal; an empty one is left out. */
const literal = (text: string): string => (text ? JSON.stringify(text) : '');

/** Every rule name of a GBNF grammar prefixed, so several grammars can live in one (strings and classes left alone). */
function prefixRules(grammar: string, prefix: string): string {
  return grammar.replace(/"(?:[^"\\]|\\.)*"|\[(?:[^\]\\]|\\.)*\]|\{[^}]*\}|#[^\n]*|[a-zA-Z][a-zA-Z0-9-]*/g, (token) =>
    /^[a-zA-Z]/.test(token) ? `${prefix}${token}` : token,
  );
}

/** One offered function: its name and the check of its arguments. */
interface ToolEntry {
  name: string;
  check: AnswerCheck;
}

/** What a request's tools make: the grammar of its calls and the checks of their arguments. */
export class ToolPlan {
  private constructor(
    readonly syntax: CallSyntax,
    readonly grammar: LlamaGrammar,
    private readonly tools: Map<string, ToolEntry>,
  ) {}

  /**
   * The grammar of one call (or, when parallel calls are allowed, of up to MAX_PARALLEL_CALLS) to one of the offered
   * functions, or to the one tool_choice names; each call's arguments follow that function's JSON Schema.
   */
  static async build(
    llama: Llama,
    wrapper: ChatWrapper,
    tools: readonly ToolDefinition[],
    choice: ToolChoice | undefined,
    parallel: boolean,
  ): Promise<ToolPlan> {
    const offered = typeof choice === 'object' ? tools.filter((t) => t.name === choice.name) : tools;
    if (typeof choice === 'object' && offered.length === 0) {
      throw invalidRequest(`tool_choice names the function '${choice.name}', which is not one of the offered tools`, 'tool_choice');
    }
    const syntax = callSyntax(wrapper);
    const entries = new Map<string, ToolEntry>();
    const rules: string[] = [];
    const alternatives: string[] = [];
    for (const [i, tool] of offered.entries()) {
      const schema = tool.parameters ?? NO_PARAMETERS;
      let check: AnswerCheck;
      let params: string;
      try {
        check = AnswerCheck.schema(schema);
        params = (await jsonSchemaGrammar(llama, schema)).grammar.replace(JSON_GRAMMAR_END, '');
      } catch (err) {
        const why =
          err instanceof AutoglmError ? err.message.replace(/^response_format\.json_schema\.schema /, '') : `is not supported: ${(err as Error).message}`;
        throw invalidRequest(`tools[${tools.indexOf(tool)}].function.parameters ${why}`, `tools[${tools.indexOf(tool)}].function.parameters`);
      }
      entries.set(tool.name, { name: tool.name, check });
      rules.push(prefixRules(params, `t${i}-`));
      alternatives.push(`${literal(tool.name + syntax.paramsPrefix(tool.name))} t${i}-root ${literal(syntax.suffix(tool.name))}`);
    }
    const call = `call ::= ${literal(syntax.prefix)} ( ${alternatives.join(' | ')} )`;
    const root = parallel
      ? `root ::= ${literal(syntax.sectionPrefix)} call ( ${literal(syntax.betweenCalls)} call ){0,${MAX_PARALLEL_CALLS - 1}} ${literal(syntax.sectionSuffix)}`
      : `root ::= ${literal(syntax.sectionPrefix)} call ${literal(syntax.sectionSuffix)}`;
    const grammar = await llama.createGrammar({ grammar: [root, call, ...rules].join('\n') });
    return new ToolPlan(syntax, grammar, entries);
  }

  /** Texts that start a call, for an answer that may call or not (tool_choice 'auto'). */
  get callStarts(): string[] {
    return [this.syntax.sectionPrefix || this.syntax.prefix, ...(this.syntax.sectionPrefix ? [] : this.syntax.alternatePrefixes)];
  }

  reader(): ToolCallReader {
    return new ToolCallReader(this.syntax, this.tools);
  }

  /** The check of a finished answer written under the grammar (the answer check of a structured request, for tools). */
  check(): { problem(answer: string): string | undefined; failure(problem: string): AutoglmError } {
    return {
      problem: (answer) => {
        const reader = this.reader();
        reader.push(answer);
        return reader.problem();
      },
      failure: (problem) =>
        new AutoglmError(
          500,
          'server_error',
          'invalid_tool_call',
          `The model's tool call does not follow the function's parameters: ${problem}. Sending the request again (with another seed or a lower temperature) may succeed.`,
        ),
    };
  }
}

const callId = (): string => `call_${randomBytes(12).toString('base64url')}`;

/**
 * Reads calls from the text of an answer written in the call syntax, as it streams: a call's first delta (id, name)
 * once its name is complete, then its arguments as they come. The end of the arguments is found by scanning the JSON
 * (depth and strings), so a suffix character inside a string does not end them.
 */
export class ToolCallReader {
  private buffer = '';
  private state: 'head' | 'args' | 'tail' = 'head';
  private readonly calls: { name: string; arguments: string }[] = [];
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;

  constructor(
    private readonly syntax: CallSyntax,
    private readonly tools: Map<string, ToolEntry>,
  ) {}

  /** The tool-call deltas this text completes. */
  push(text: string): ChatChunk[] {
    this.buffer += text;
    const out: ChatChunk[] = [];
    for (;;) {
      if (this.state === 'head') {
        const head = this.head();
        if (!head) return out;
        this.buffer = this.buffer.slice(head.length);
        this.calls.push({ name: head.name, arguments: '' });
        out.push({ type: 'tool-call-delta', index: 0, call: this.calls.length - 1, id: callId(), name: head.name, arguments: '' });
        this.state = 'args';
        this.depth = 0;
        this.started = false;
      } else if (this.state === 'args') {
        const end = this.argumentsEnd();
        const piece = this.buffer.slice(0, end ?? this.buffer.length);
        this.buffer = this.buffer.slice(piece.length);
        const current = this.calls.at(-1)!;
        current.arguments += piece;
        if (piece) out.push({ type: 'tool-call-delta', index: 0, call: this.calls.length - 1, arguments: piece });
        if (end === undefined) return out;
        this.state = 'tail';
      } else {
        // After a call: its suffix, then the text between calls (or the section's end): wait for the next prefix.
        const suffix = this.syntax.suffix(this.calls.at(-1)!.name);
        if (this.buffer.length < suffix.length) return out;
        this.buffer = this.buffer.slice(suffix.length);
        this.state = 'head';
      }
    }
  }

  /** The prefix and name of the next call once all of it is in the buffer. */
  private head(): { name: string; length: number } | undefined {
    for (const prefix of [this.syntax.prefix, ...this.syntax.alternatePrefixes]) {
      const at = this.buffer.indexOf(prefix);
      if (at < 0) continue;
      const rest = this.buffer.slice(at + prefix.length).replace(/^ /, '');
      const skipped = this.buffer.length - at - prefix.length - rest.length;
      for (const name of this.tools.keys()) {
        const opening = name + this.syntax.paramsPrefix(name);
        if (rest.startsWith(opening)) return { name, length: at + prefix.length + skipped + opening.length };
      }
    }
    return undefined;
  }

  /** Where the arguments' JSON ends in the buffer, or undefined when it goes on past it. */
  private argumentsEnd(): number | undefined {
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') {
        this.depth++;
        this.started = true;
      } else if (c === '}' || c === ']') this.depth--;
      if (this.started && this.depth === 0) return i + 1;
    }
    return undefined;
  }

  /** Why the calls read so far are not good calls, or undefined when each names an offered function with valid arguments. */
  problem(): string | undefined {
    if (this.calls.length === 0) return 'it calls no function';
    if (this.state === 'args') return 'its last call is cut short';
    for (const call of this.calls) {
      const why = this.tools.get(call.name)?.check.problem(call.arguments);
      if (why) return `the arguments of ${call.name} ${why.replace(/^it /, '')}`;
    }
    return undefined;
  }

  /** Whether the answer ended before its first call, or in the middle of one (max_tokens). */
  get cutShort(): boolean {
    return this.calls.length === 0 || this.state === 'args';
  }
}
