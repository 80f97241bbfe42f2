// A task checker for arithmetic: the share of "a op b = c" calculations written in an answer that are right.

const CALCULATION = /(-?\d+(?:\.\d+)?)\s*([-+*/×÷x])\s*(-?\d+(?:\.\d+)?)\s*=\s*\$?(-?\d+(?:\.\d+)?)/g;

/** Undefined when the text shows no calculation to check. */
export function arithmeticScore(text: string): number | undefined {
  let total = 0;
  let right = 0;
  for (const m of text.matchAll(CALCULATION)) {
    const [a, op, b, c] = [Number(m[1]), m[2], Number(m[3]), Number(m[4])];
    const value = op === '+' ? a + b : op === '-' ? a - b : op === '/' || op === '÷' ? a / b : a * b;
    total++;
    if (Math.abs(value - c) < 1e-6 * Math.max(1, Math.abs(c))) right++;
  }
  return total ? right / total : undefined;
}
