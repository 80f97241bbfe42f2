// How much memory this process may lock (mlock), read from the kernel's limits, so --mlock is refused up front
// rather than failing as a warning buried in llama.cpp's log.
import { readFileSync } from 'node:fs';

/** The soft RLIMIT_MEMLOCK in bytes; undefined when unlimited or unknown (not Linux: llama.cpp has the last word). */
export function lockableBytes(limits = '/proc/self/limits', status = '/proc/self/status'): number | undefined {
  let text: string;
  try {
    text = readFileSync(limits, 'utf8');
  } catch {
    return undefined;
  }
  const soft = /^Max locked memory\s+(\S+)/m.exec(text)?.[1];
  if (soft === undefined || soft === 'unlimited') return undefined;
  // A process with CAP_IPC_LOCK is not held to the limit (root in a container often lacks it).
  if (canLockAny(status)) return undefined;
  const bytes = Number(soft);
  return Number.isFinite(bytes) ? bytes : undefined;
}

/** Whether the effective capabilities hold CAP_IPC_LOCK (bit 14). */
function canLockAny(status: string): boolean {
  try {
    const hex = /^CapEff:\s+([0-9a-f]+)/m.exec(readFileSync(status, 'utf8'))?.[1];
    return hex !== undefined && (BigInt(`0x${hex}`) & (1n << 14n)) !== 0n;
  } catch {
    return false;
  }
}
