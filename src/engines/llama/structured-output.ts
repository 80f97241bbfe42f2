// Structured output: the grammar that makes llama.cpp write JSON of a given schema, and the check of every answer.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { Llama, LlamaGrammar } from 'node-llama-cpp';
import { AutoglmError, invalidRequest } from '../../core/index.js';

type JsonSchemaInput = Parameters<Llama['createGrammarForJsonSchema']>[0];

/**
 * node-llama-cpp's integer rule lets an exponent follow the digits ("-3e-31", "-2100e-0"): JSON numbers, but not
 * integers, so a schema's {"type": "integer"} was broken by valid-looking answers. Here an integer is plain digits.
 */
const INTEGER_RULE = /^integer-number-rule ::= .*$/m;
const PLAIN_INTEGER_RULE = 'integer-number-rule ::= "0" | "-"? [1-9] [0-9]{0,15}';
/**
 * Its number rule takes an exponent of up to 16 digits: "-9562658655E19709" is valid JSON, but -Infinity to
 * JSON.parse (and to Python's json), which no client can use. On llama-2-tiny-random 14 of 40 json_schema answers had
 * one. Two exponent digits keep every number finite.
 */
const NUMBER_RULE = /^fractional-number-rule ::= .*$/m;
const FINITE_NUMBER_RULE = 'fractional-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?';

/**
 * node-llama-cpp does not refuse a schema part it cannot enforce (a $ref outside #/$defs, maxLength below minLength,
 * ...): it prints a warning to the terminal and enforces less. It writes the grammar synchronously, within the call,
 * so the warnings caught there are all of this schema's, and they become the caller's 400 instead.
 */
function grammarRefusingWarnings(llama: Llama, schema: Record<string, unknown>): Promise<LlamaGrammar> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (_prefix: unknown, ...message: unknown[]) => warnings.push(message.join(' '));
  let generated: Promise<LlamaGrammar>;
  try {
    generated = llama.createGrammarForJsonSchema(schema as JsonSchemaInput);
  } finally {
    console.warn = warn;
  }
  if (warnings.length > 0) {
    // Only the first sentence: the rest says what node-llama-cpp would enforce instead, which it will not be asked to.
    const why = warnings.map((w) => w.split('. ')[0]).join('; ');
    generated.catch(() => undefined);
    throw invalidRequest(`response_format.json_schema.schema is not supported: ${why}.`, 'response_format.json_schema.schema');
  }
  return generated;
}

/** The grammar of JSON that follows `schema`, with integers written as integers and every number finite. */
export async function jsonSchemaGrammar(llama: Llama, schema: Record<string, unknown>): Promise<LlamaGrammar> {
  const generated = await grammarRefusingWarnings(llama, schema);
  if (!INTEGER_RULE.test(generated.grammar) && !NUMBER_RULE.test(generated.grammar)) return generated;
  return llama.createGrammar({
    grammar: generated.grammar.replace(INTEGER_RULE, PLAIN_INTEGER_RULE).replace(NUMBER_RULE, FINITE_NUMBER_RULE),
    stopGenerationTriggers: generated.stopGenerationTriggers,
    trimWhitespaceSuffix: generated.trimWhitespaceSuffix,
  });
}

/**
 * Checks a finished answer: JSON for json_object, JSON valid against the schema for json_schema. The grammar makes a
 * conforming answer likely, not certain: it enforces only part of JSON Schema (no minimum, pattern, ...), and a stop
 * string of the chat template can cut an answer short. An answer that fails is never passed off as a good one.
 */
export class AnswerCheck {
  private constructor(
    private readonly validate: ValidateFunction | undefined,
    private readonly what: string,
  ) {}

  static json(): AnswerCheck {
    return new AnswerCheck(undefined, 'response_format json_object');
  }

  /** Compiles the schema once (cached with its grammar); a schema the validator cannot compile is the caller's 400. */
  static schema(schema: Record<string, unknown>): AnswerCheck {
    // One validator per schema: two schemas with the same $id must not collide in a shared instance's registry.
    const ajv = new Ajv({ strict: false, allErrors: false, logger: false });
    addFormats.default(ajv);
    try {
      return new AnswerCheck(ajv.compile(schema), 'response_format.json_schema');
    } catch (err) {
      const why = err instanceof RangeError ? 'is nested too deeply to be checked' : `is not a valid JSON Schema: ${(err as Error).message}`;
      throw invalidRequest(`response_format.json_schema.schema ${why}`, 'response_format.json_schema.schema');
    }
  }

  /** Why the answer breaks its format, or undefined when it keeps it. */
  problem(answer: string): string | undefined {
    let value: unknown;
    try {
      value = JSON.parse(answer);
    } catch (err) {
      return `it is not valid JSON (${(err as Error).message})`;
    }
    if (!this.validate || this.validate(value)) return undefined;
    return (this.validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`).join('; ');
  }

  /** The in-band error that takes the place of the finish of an answer that broke its format. */
  failure(problem: string): AutoglmError {
    return new AutoglmError(
      500,
      'server_error',
      'invalid_structured_output',
      `The model's answer does not follow ${this.what}: ${problem}. Sending the request again (with another seed or a lower temperature) may succeed.`,
    );
  }
}
