// One spelling per answer, so "1,000", "$1000" and "1000.0" count as the same vote and match the same gold answer.

export function normalizeAnswer(text: string): string {
  let s = text
    .trim()
    .replace(/[.。]+$/, '')
    .trim();
  const number = /^[-+]?\$?\s*[-+]?[\d,]*\.?\d+%?$/.test(s) ? s.replace(/[$,%\s]/g, '') : undefined;
  if (number !== undefined && number !== '' && Number.isFinite(Number(number))) {
    const n = Number(number);
    return String(Math.round(n * 1e6) / 1e6);
  }
  const option = /^\(?([A-Ra-r])\)?$/.exec(s);
  if (option) return `(${option[1]!.toUpperCase()})`;
  s = s.toLowerCase();
  if (s === 'true' || s === 'yes') return s === 'true' ? 'true' : 'yes';
  if (s === 'false' || s === 'no') return s === 'false' ? 'false' : 'no';
  return s.replace(/\s+/g, ' ');
}
