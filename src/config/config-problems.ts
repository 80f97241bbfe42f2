// What is wrong with a config file, in its author's terms: every problem at once, each at its file:line:col, a mistyped
// key or value with the one it probably meant ("unknown key 'tpye' (did you mean 'type'?)").
import { closest, distance } from 'fastest-levenshtein';
import { isMap, isScalar, type Document, type LineCounter } from 'yaml';
import type { z } from 'zod';

/** The parts of zod's schema definitions needed to find the keys allowed at a path. */
interface SchemaNode {
  _zod: {
    def: {
      type: string;
      shape?: Record<string, SchemaNode>;
      valueType?: SchemaNode;
      element?: SchemaNode;
      innerType?: SchemaNode;
      in?: SchemaNode;
      options?: SchemaNode[];
      discriminator?: string;
      values?: unknown[];
    };
  };
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

function unwrap(node: SchemaNode, data: unknown): SchemaNode {
  for (;;) {
    const def = node._zod.def;
    if (WRAPPERS.has(def.type) && def.innerType) node = def.innerType;
    else if (def.type === 'pipe' && def.in) node = def.in;
    else if (def.type === 'union' && def.options) node = unionMember(def.options, def.discriminator, data);
    else return node;
  }
}

/** The union member the data is meant for: the one its discriminator names, else one with every key the data has. */
function unionMember(options: SchemaNode[], discriminator: string | undefined, data: unknown): SchemaNode {
  const record = (data ?? {}) as Record<string, unknown>;
  const shapeOf = (o: SchemaNode) => unwrap(o, undefined)._zod.def.shape ?? {};
  const named = discriminator ? options.find((o) => shapeOf(o)[discriminator]?._zod.def.values?.includes(record[discriminator])) : undefined;
  return named ?? options.find((o) => Object.keys(record).every((k) => k in shapeOf(o))) ?? options[0]!;
}

/** The keys the schema allows in the object at `path`, or none when the path leads to no object. */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[], data: unknown): string[] {
  let node = unwrap(schema as unknown as SchemaNode, data);
  let here = data;
  for (const key of path) {
    here = (here as Record<PropertyKey, unknown> | undefined)?.[key];
    const def = node._zod.def;
    const next = def.type === 'object' ? def.shape?.[String(key)] : def.type === 'record' ? def.valueType : def.type === 'array' ? def.element : undefined;
    if (!next) return [];
    node = unwrap(next, here);
  }
  return Object.keys(node._zod.def.shape ?? {});
}

/** The candidate a typo most likely meant: close in edit distance, and not so short that anything would match. */
export function didYouMean(typed: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const best = closest(typed, candidates as string[]);
  const d = distance(typed.toLowerCase(), best.toLowerCase());
  return d > 0 && d <= Math.max(2, Math.floor(best.length / 3)) && d < Math.min(typed.length, best.length) ? best : undefined;
}

const pathText = (path: readonly PropertyKey[]) =>
  path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');

interface Located {
  doc: Document;
  lineCounter: LineCounter;
  file: string;
}

/** file:line:col of the node at `path`, or of the nearest parent that exists (for a missing key). */
export function positionOf({ doc, lineCounter, file }: Located, path: readonly PropertyKey[], key?: string): string {
  // A key is found in its object (at the top level, the whole file): at its own line, not at the object's first one.
  if (key !== undefined) {
    const map = path.length === 0 ? doc.contents : doc.getIn(path, true);
    const pair = isMap(map) ? map.items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
    const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
    if (range) return at(file, lineCounter, range[0]);
  }
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return at(file, lineCounter, node.range[0]);
  }
  return `${file}:1:1`;
}

const at = (file: string, lineCounter: LineCounter, offset: number) => {
  const { line, col } = lineCounter.linePos(offset);
  return `${file}:${line}:${col}`;
};

const quoteList = (values: readonly unknown[]) => values.map(String).join(', ');

/** One line per problem zod found, in the order of the file. */
export function configProblems(issues: readonly z.core.$ZodIssue[], schema: z.ZodType, located: Located): string[] {
  const data = located.doc.toJS() as unknown;
  const valueAt = (path: readonly PropertyKey[]) => path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k], data);
  const lines: { where: string; text: string }[] = [];
  const add = (path: readonly PropertyKey[], text: string, key?: string) =>
    lines.push({ where: positionOf(located, path, key), text: `${pathText(path) || '(top level)'}: ${text}` });
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = keysAt(schema, issue.path, data);
      for (const key of issue.keys) {
        const meant = didYouMean(
          key,
          allowed.filter((k) => !(k in ((valueAt(issue.path) ?? {}) as object))),
        );
        add(issue.path, `unknown key '${key}'${meant ? ` (did you mean '${meant}'?)` : ''}`, key);
      }
    } else if (issue.code === 'invalid_union' && 'discriminator' in issue && typeof issue.discriminator === 'string') {
      const parent = issue.path.slice(0, -1);
      const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
      const value = valueAt(issue.path);
      if (value === undefined) {
        const present = Object.keys((valueAt(parent) ?? {}) as object);
        const typo = present.find((k) => didYouMean(k, [issue.discriminator as string]));
        if (typo) add(parent, `unknown key '${typo}' (did you mean '${issue.discriminator}'?)`, typo);
        else add(issue.path, `missing; one of ${quoteList(options)}`);
      } else {
        const meant = didYouMean(String(value), options);
        add(issue.path, `'${String(value)}' is not one of ${quoteList(options)}${meant ? ` (did you mean '${meant}'?)` : ''}`);
      }
    } else if (issue.code === 'invalid_value' && issue.values.length > 1) {
      const value = valueAt(issue.path);
      const meant = typeof value === 'string' ? didYouMean(value, issue.values.map(String)) : undefined;
      add(
        issue.path,
        `${typeof value === 'string' ? `'${value}'` : JSON.stringify(value)} is not one of ${quoteList(issue.values)}${meant ? ` (did you mean '${meant}'?)` : ''}`,
      );
    } else {
      add(issue.path, issue.message);
    }
  }
  const order = (where: string) => where.split(':').slice(-2).map(Number) as [number, number];
  return lines.sort((a, b) => order(a.where)[0] - order(b.where)[0] || order(a.where)[1] - order(b.where)[1]).map((l) => `${l.where}: ${l.text}`);
}
