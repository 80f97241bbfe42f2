// FNV-1a: a tiny, fast, non-cryptographic hash for cache keys (KV blocks, routing prefixes, simulated tokens).

export const FNV_OFFSET = 0x811c9dc5;

/** One FNV-1a step: mixes a 32-bit value into the running hash. */
export const fnv1a = (hash: number, value: number): number => Math.imul(hash ^ value, 0x01000193) >>> 0;

/** FNV-1a over a string's UTF-16 code units. */
export function fnv1aString(text: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) h = fnv1a(h, text.charCodeAt(i));
  return h;
}
