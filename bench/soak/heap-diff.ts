// What grew between two V8 heap snapshots: objects counted and sized by constructor (or by kind for strings, arrays
// and code), so a leak shows up as the kind of object that keeps piling up.
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapGroup {
  name: string;
  count: number;
  bytes: number;
}

/** Objects and closures by constructor name; everything else by its kind, e.g. "(string)" or "(code)". */
export function heapGroups(file: string): Map<string, HeapGroup> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const groups = new Map<string, HeapGroup>();
  for (let i = 0; i < s.nodes.length; i += fields.length) {
    const type = types[s.nodes[i + typeAt]!]!;
    const name =
      type === 'object' || type === 'closure' || type === 'native' ? `${s.strings[s.nodes[i + nameAt]!]}${type === 'closure' ? '()' : ''}` : `(${type})`;
    const group = groups.get(name) ?? { name, count: 0, bytes: 0 };
    group.count++;
    group.bytes += s.nodes[i + sizeAt]!;
    groups.set(name, group);
  }
  return groups;
}

/** The groups that grew most between two snapshots, by bytes. */
export function heapGrowth(before: string, after: string, top = 15): { name: string; count: number; bytes: number }[] {
  const a = heapGroups(before);
  const b = heapGroups(after);
  return [...b.values()]
    .map((g) => ({ name: g.name, count: g.count - (a.get(g.name)?.count ?? 0), bytes: g.bytes - (a.get(g.name)?.bytes ?? 0) }))
    .filter((g) => g.bytes > 0)
    .sort((x, y) => y.bytes - x.bytes)
    .slice(0, top);
}
