// Which loaded models give way to one more: the least recently used idle ones first, never one in use or loading.
// A pure function of what is resident, so the choice is tested without models or timers.

export interface ResidentModel {
  name: string;
  /** Requests in flight on it, or waiting for it to load, or it is loading: it must stay. */
  busy: boolean;
  /** When it last started or finished a request (any monotonic clock). */
  lastUsed: number;
  /** What it holds in memory (its file's size is a fair estimate for a GGUF). */
  bytes: number;
}

export interface LoadBudget {
  /** Models in memory at once, the new one included. */
  maxModels: number;
  /** Bytes of models in memory at once; a model larger than this on its own still loads, alone. */
  maxBytes?: number;
}

/** Load after unloading `evict` (possibly none), or wait: the budget cannot hold it while the busy ones stay. */
export type RoomPlan = { evict: string[] } | { wait: true };

export function makeRoom(incoming: { bytes: number }, resident: readonly ResidentModel[], budget: LoadBudget): RoomPlan {
  const fits = (staying: readonly ResidentModel[]) =>
    staying.length + 1 <= budget.maxModels &&
    (budget.maxBytes === undefined || staying.length === 0 || staying.reduce((sum, m) => sum + m.bytes, incoming.bytes) <= budget.maxBytes);
  let staying = [...resident];
  const evict: string[] = [];
  const idle = resident.filter((m) => !m.busy).sort((a, b) => a.lastUsed - b.lastUsed);
  for (const victim of idle) {
    if (fits(staying)) break;
    evict.push(victim.name);
    staying = staying.filter((m) => m !== victim);
  }
  return fits(staying) ? { evict } : { wait: true };
}
