// API keys: `agk_<id>_<secret>`. Only a SHA-256 of the key is stored; the id finds the record without the secret.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface NewKey {
  id: string;
  /** The key itself, shown once to whoever created it. */
  key: string;
  hash: string;
}

const KEY_SHAPE = /^agk_([0-9a-f]{12})_([\w-]{32,})$/;

// A fast hash is enough: keys carry 192 random bits, so there is nothing to brute-force that a slow KDF would protect.
export const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex');

export function newKey(): NewKey {
  const id = randomBytes(6).toString('hex');
  const key = `agk_${id}_${randomBytes(24).toString('base64url')}`;
  return { id, key, hash: hashKey(key) };
}

/** The key id of a well-formed key, or undefined. */
export function keyIdOf(key: string): string | undefined {
  return KEY_SHAPE.exec(key)?.[1];
}

/** Compares a presented key with a stored hash in constant time. */
export function keyMatches(key: string, storedHash: string): boolean {
  const a = Buffer.from(hashKey(key), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A key as safe to print: its id and the first characters of its secret. */
export const redactKey = (key: string): string => `${key.slice(0, 20)}...`;
