// A tuning search space: integer, log-uniform and categorical parameters, parsed from `name=kind:...` specs.
import type { Random } from '../core/index.js';

export type Param =
  | { name: string; kind: 'int'; min: number; max: number }
  | { name: string; kind: 'log'; min: number; max: number; integer: boolean }
  | { name: string; kind: 'cat'; values: string[] };

export type Point = Record<string, number | string>;

/** `threads=int:1:4`, `batchSize=logint:32:2048`, `ratio=log:0.01:1`, `quantize=cat:none,q8_0`. */
export function parseParam(spec: string): Param {
  const m = /^(\w+)=(int|log|logint|cat):(.+)$/.exec(spec);
  if (!m) throw new Error(`bad parameter '${spec}': use name=int:MIN:MAX, name=log:MIN:MAX, name=logint:MIN:MAX or name=cat:A,B,C`);
  const [, name, kind, rest] = m as unknown as [string, string, string, string];
  if (kind === 'cat') return { name, kind: 'cat', values: rest.split(',') };
  const [min, max] = rest.split(':').map(Number) as [number, number];
  if (!(Number.isFinite(min) && Number.isFinite(max) && min < max) || (kind !== 'int' && min <= 0)) throw new Error(`bad range in '${spec}'`);
  return kind === 'int' ? { name, kind: 'int', min, max } : { name, kind: 'log', min, max, integer: kind === 'logint' };
}

/** A parameter's value as a number in [0, 1] (log scale for log parameters), for distances and densities. */
export function toUnit(p: Exclude<Param, { kind: 'cat' }>, v: number): number {
  return p.kind === 'int' ? (v - p.min) / Math.max(1, p.max - p.min) : Math.log(v / p.min) / Math.log(p.max / p.min);
}

export function fromUnit(p: Exclude<Param, { kind: 'cat' }>, u: number): number {
  const c = Math.min(1, Math.max(0, u));
  if (p.kind === 'int') return Math.round(p.min + c * (p.max - p.min));
  const v = p.min * (p.max / p.min) ** c;
  return p.integer ? Math.round(v) : v;
}

export function randomPoint(space: readonly Param[], random: Random): Point {
  return Object.fromEntries(space.map((p) => [p.name, p.kind === 'cat' ? p.values[Math.floor(random.next() * p.values.length)]! : fromUnit(p, random.next())]));
}

export const pointKey = (p: Point) => JSON.stringify(Object.entries(p).sort(([a], [b]) => a.localeCompare(b)));

/** Evenly spaced grid points, as many levels per parameter as a budget of `n` allows, in order. */
export function gridPoints(space: readonly Param[], n: number): Point[] {
  const levelsPer = Math.max(2, Math.ceil(n ** (1 / space.length)));
  const axes = space.map((p) => {
    if (p.kind === 'cat') return p.values as (string | number)[];
    const count = p.kind === 'int' ? Math.min(levelsPer, p.max - p.min + 1) : levelsPer;
    return [...new Set(Array.from({ length: count }, (_, i) => fromUnit(p, count === 1 ? 0.5 : i / (count - 1))))];
  });
  const points: Point[] = [];
  const walk = (i: number, acc: Point) => {
    if (points.length >= n) return;
    if (i === space.length) return void points.push({ ...acc });
    for (const v of axes[i]!) walk(i + 1, { ...acc, [space[i]!.name]: v });
  };
  walk(0, {});
  return points;
}

/**
 * `autoglm tune`'s space when none is given: the serve settings that move throughput on a CPU. Threads make or break
 * a small VM; parallel sequences and the batch trade latency for throughput; flash attention and prompt lookup may
 * help or cost depending on the model and the prompts. Each name is a serve flag (camelCase for --kebab-case). KV-cache
 * types, mmap and mlock are about memory, and GPU layers about a GPU, so they are left to --param.
 */
export const defaultEngineSpace = (cores: number): Param[] => [
  parseParam(`threads=int:1:${Math.max(2, cores)}`),
  parseParam('parallel=int:1:8'),
  parseParam('batchSize=logint:64:1024'),
  parseParam('flashAttention=cat:on,off'),
  parseParam('speculative=cat:off,lookup'),
];
