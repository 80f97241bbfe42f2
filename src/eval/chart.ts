// A small SVG chart of an eval: accuracy (with its interval) against tokens per item, one labelled point per strategy.
// Written by hand: a dozen shapes do not warrant a plotting library and a headless browser or canvas to run it.
import type { StrategyReport } from './run-eval.js';

const escape = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

export function accuracyChart(reports: readonly StrategyReport[], title: string): string {
  const [w, h, left, bottom, top, right] = [640, 400, 64, 48, 40, 24];
  const maxTokens = Math.max(1, ...reports.map((r) => r.tokensPerItem)) * 1.1;
  const x = (t: number) => left + (t / maxTokens) * (w - left - right);
  const y = (a: number) => h - bottom - a * (h - bottom - top);
  const grid = [0, 0.25, 0.5, 0.75, 1].map((a) => `<line x1="${left}" x2="${w - right}" y1="${y(a)}" y2="${y(a)}" stroke="#ddd"/><text x="${left - 8}" y="${y(a) + 4}" text-anchor="end" font-size="12">${a * 100}%</text>`);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${x(f * maxTokens)}" y="${h - bottom + 18}" text-anchor="middle" font-size="12">${Math.round(f * maxTokens)}</text>`);
  const points = reports.map((r, i) => {
    const colour = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'][i % 6];
    return `<line x1="${x(r.tokensPerItem)}" x2="${x(r.tokensPerItem)}" y1="${y(r.ci95[0])}" y2="${y(r.ci95[1])}" stroke="${colour}" stroke-width="2"/>` +
      `<circle cx="${x(r.tokensPerItem)}" cy="${y(r.accuracy)}" r="5" fill="${colour}"/>` +
      `<text x="${x(r.tokensPerItem) + 8}" y="${y(r.accuracy) - 8}" font-size="13" fill="${colour}">${escape(r.strategy)} ${(r.accuracy * 100).toFixed(1)}%</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${w / 2}" y="24" text-anchor="middle" font-size="15">${escape(title)}</text>
${grid.join('\n')}
${ticks.join('\n')}
<text x="${(left + w - right) / 2}" y="${h - 10}" text-anchor="middle" font-size="12">tokens per item</text>
<text x="16" y="${(top + h - bottom) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${(top + h - bottom) / 2})">accuracy (95% interval)</text>
${points.join('\n')}
</svg>
`;
}
