// The eval chart: accuracy (with its 95% interval) against tokens per item, one labelled point per strategy.
import { svgChart } from '../report/index.js';
import type { StrategyReport } from './run-eval.js';

export function accuracyChart(reports: readonly StrategyReport[], title: string): string {
  return svgChart({
    title,
    xLabel: 'tokens per item',
    yLabel: 'accuracy (95% interval)',
    yMax: 1,
    yFormat: (v) => `${Math.round(v * 100)}%`,
    xFormat: (v) => String(Math.round(v)),
    series: reports.map((r) => ({
      name: r.strategy,
      data: [[r.tokensPerItem, r.accuracy]],
      points: [{ label: `${r.strategy} ${(r.accuracy * 100).toFixed(1)}%`, interval: r.ci95 }],
    })),
  });
}
