// Strategy specs, one grammar for a model prefix (`sc@8:glm-4`) and the eval command line (`--strategies sc@8,asc@8`).
import { type AutoglmError, STRATEGIES, invalidRequest, type ReasoningOptions, type StrategyName } from '../core/index.js';

export interface StrategySpec {
  strategy: StrategyName;
  /** The strategy, and the sample count `@N` asked for (samples for sc and bon, the cap for asc and auto). */
  options: ReasoningOptions & { strategy: StrategyName };
}

/** Strategies that draw several samples, and so take `@N`. */
const SAMPLING: readonly StrategyName[] = ['sc', 'asc', 'bon', 'auto'];
const MAX_N = 64;

const unknownStrategy = (name: string, param: string | null) =>
  invalidRequest(`unknown strategy '${name}'; use ${STRATEGIES.join(', ')} (sc, asc, bon and auto take @N, as in sc@8)`, param, 'unknown_strategy');

/** `sc@8` -> sc with 8 samples; a client mistake is a 400 whose message says what is accepted. */
export function parseStrategySpec(text: string, param: string | null = null): StrategySpec {
  const at = text.indexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  if (!(STRATEGIES as readonly string[]).includes(name)) throw unknownStrategy(name, param);
  const strategy = name as StrategyName;
  const options: StrategySpec['options'] = { strategy };
  if (at < 0) return { strategy, options };
  if (!SAMPLING.includes(strategy))
    throw invalidRequest(`'${text}': ${strategy} draws one answer and takes no @N; only sc, asc, bon and auto do`, param, 'unknown_strategy');
  const n = Number(text.slice(at + 1));
  if (!(Number.isInteger(n) && n >= 1 && n <= MAX_N) || !/^\d+$/.test(text.slice(at + 1))) {
    throw invalidRequest(`'${text}': N must be a whole number from 1 to ${MAX_N}`, param, 'unknown_strategy');
  }
  if (strategy === 'asc' || strategy === 'auto') options.maxSamples = n;
  else options.samples = n;
  return { strategy, options };
}

/** A prefix that reads as a strategy spec: a lowercase word, maybe with @ and what follows. */
const SPEC_LIKE = /^([a-z]+)(@[^:]*)?$/;

/**
 * `sc@8:glm-4` -> sc with 8 samples on glm-4. A name whose prefix is no strategy is left whole, since model names
 * may hold colons (`llama3:8b`); `prefix` then says what was not recognised.
 */
export function parseStrategyModel(name: string): { spec?: StrategySpec; model: string; prefix?: string } {
  const colon = name.indexOf(':');
  if (colon <= 0 || colon === name.length - 1) return { model: name };
  const prefix = name.slice(0, colon);
  const m = SPEC_LIKE.exec(prefix);
  if (!m) return { model: name };
  if (!(STRATEGIES as readonly string[]).includes(m[1]!)) return { model: name, prefix };
  return { spec: parseStrategySpec(prefix, 'model'), model: name.slice(colon + 1) };
}

/**
 * The 400 for `magic:glm-4` when glm-4 is served but `magic` is no strategy, instead of "no model named
 * 'magic:glm-4'"; undefined when the name is not of that form.
 */
export function unknownStrategyPrefix(name: string, served: (model: string) => boolean): AutoglmError | undefined {
  if (served(name)) return undefined;
  const { prefix, model } = parseStrategyModel(name);
  if (prefix === undefined) return undefined;
  const rest = model.slice(prefix.length + 1);
  return served(rest) ? unknownStrategy(prefix.split('@')[0]!, 'model') : undefined;
}
