// Numeric flags: parsed once, refused in one line that names the flag and the value, for every command.
import bytes from 'bytes';
import { InvalidArgumentError } from 'commander';

// Commander turns an InvalidArgumentError into "option '--x <n>' argument 'abc' is invalid. <why>" and exit 1;
// any other error thrown from a parser would escape as a stack trace.
const parsed =
  (check: (n: number) => boolean, what: string) =>
  (v: string): number => {
    const n = v.trim() === '' ? NaN : Number(v);
    if (!Number.isFinite(n) || !check(n)) throw new InvalidArgumentError(`It must be ${what}.`);
    return n;
  };

export const anyNumber = parsed(() => true, 'a number');
export const nonNegativeNumber = parsed((n) => n >= 0, 'a non-negative number');
export const positiveNumber = parsed((n) => n > 0, 'a positive number');
export const positiveInteger = parsed((n) => n > 0 && Number.isInteger(n), 'a whole number above 0');
export const probability = parsed((n) => n >= 0 && n <= 1, 'a probability between 0 and 1');

/**
 * A size in bytes: `4194304`, `4MiB`, `4 MiB`, `4mb`, `512k`, `512 KB`. Units are powers of 1024, as in `bytes`
 * (and Express's body limits): k, KB and KiB all mean 1024 bytes. `bytes` knows kb/mb/gb but not the IEC spelling
 * or a bare k/m/g, so those are rewritten into its units first.
 */
export function byteSize(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgtp])(?:i?b)?|b)?\s*$/i.exec(v);
  const n = m ? bytes.parse(`${m[1]}${m[2] ? `${m[2]}b` : ''}`) : null;
  if (n === null || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('It must be a size such as 4194304, 4MiB, 512k or 4 MB.');
  return n;
}

/** A size for people: 2048 -> "2 KiB", 4194304 -> "4 MiB", 1536 -> "1.5 KiB", 100 -> "100 B". */
export function formatBytes(n: number): string {
  return (bytes.format(n, { unitSeparator: ' ', decimalPlaces: 1 }) ?? `${n} B`).replace(/([KMGTP])B$/, '$1iB');
}
