// Numeric flags: parsed once, refused with the value in the message, for every command.

const parsed = (check: (n: number) => boolean, what: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || !check(n)) throw new Error(`not ${what}: ${v}`);
  return n;
};

export const anyNumber = parsed(() => true, 'a number');
export const nonNegativeNumber = parsed((n) => n >= 0, 'a non-negative number');
export const positiveNumber = parsed((n) => n > 0, 'a positive number');
