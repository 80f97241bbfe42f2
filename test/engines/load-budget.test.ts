// Which loaded models give way to one more, table by table: least recently used idle first, never a busy one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRoom, type LoadBudget, type ResidentModel } from '../../src/engines/llama/index.js';

const idle = (name: string, lastUsed: number, bytes = 100): ResidentModel => ({ name, busy: false, lastUsed, bytes });
const busy = (name: string, lastUsed: number, bytes = 100): ResidentModel => ({ name, busy: true, lastUsed, bytes });

const cases: { name: string; resident: ResidentModel[]; budget: LoadBudget; bytes?: number; plan: ReturnType<typeof makeRoom> }[] = [
  { name: 'nothing loaded: load at once', resident: [], budget: { maxModels: 1 }, plan: { evict: [] } },
  { name: 'room left: nothing gives way', resident: [idle('a', 1)], budget: { maxModels: 2 }, plan: { evict: [] } },
  {
    name: 'full of idle models: the least recently used gives way',
    resident: [idle('a', 5), idle('b', 2), idle('c', 9)],
    budget: { maxModels: 3 },
    plan: { evict: ['b'] },
  },
  { name: 'one slot: the idle one gives way', resident: [idle('a', 1)], budget: { maxModels: 1 }, plan: { evict: ['a'] } },
  { name: 'one slot, in use: wait', resident: [busy('a', 1)], budget: { maxModels: 1 }, plan: { wait: true } },
  { name: 'the older one is busy: the idle newer one gives way', resident: [busy('a', 1), idle('b', 7)], budget: { maxModels: 2 }, plan: { evict: ['b'] } },
  { name: 'every one busy: wait, evicting none', resident: [busy('a', 1), busy('b', 2)], budget: { maxModels: 2 }, plan: { wait: true } },
  {
    name: 'a budget shrunk below what is loaded: as many idle as it takes',
    resident: [idle('a', 3), idle('b', 1), idle('c', 2)],
    budget: { maxModels: 1 },
    plan: { evict: ['b', 'c', 'a'] },
  },
  {
    name: 'bytes: the oldest idle ones go until the new one fits',
    resident: [idle('a', 1, 400), idle('b', 2, 300), idle('c', 3, 200)],
    budget: { maxModels: 9, maxBytes: 900 },
    bytes: 500,
    plan: { evict: ['a', 'b'] },
  },
  {
    name: 'bytes: the count fits but the bytes do not, and the rest is busy: wait',
    resident: [busy('a', 1, 600)],
    budget: { maxModels: 9, maxBytes: 1000 },
    bytes: 500,
    plan: { wait: true },
  },
  {
    name: 'bytes: a model larger than the budget loads alone',
    resident: [idle('a', 1, 10)],
    budget: { maxModels: 9, maxBytes: 1000 },
    bytes: 5000,
    plan: { evict: ['a'] },
  },
];

describe('makeRoom', () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(makeRoom({ bytes: c.bytes ?? 100 }, c.resident, c.budget), c.plan);
    });
  }

  it('leaves its input as it was', () => {
    const resident = [idle('b', 2), idle('a', 1)];
    makeRoom({ bytes: 1 }, resident, { maxModels: 1 });
    assert.deepEqual(
      resident.map((m) => m.name),
      ['b', 'a'],
    );
  });
});
