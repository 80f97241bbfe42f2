// A benchmark's results for people: a text table, an HTML report with charts, and an A/B comparison of two runs.
import { svgChart } from '../report/index.js';
import type { BenchResult, Percentiles } from './run-bench.js';

const f = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');

function describeRun(r: BenchResult): string {
  const o = r.options;
  const load = o.mode === 'open' ? `open loop, ${o.arrival} arrivals at ${o.rate} req/s` : `closed loop, ${o.concurrency} users`;
  const w = o.workload;
  const prompts = w.dataset
    ? `questions from ${w.dataset}`
    : `synthetic prompts of ${w.inputTokens} words${w.sharedPrefixTokens ? ` after a ${w.sharedPrefixTokens}-word prefix shared in ${w.prefixGroups} groups` : ''}`;
  return `${r.target.model} at ${r.target.url} (${apiName(r)}): ${load}; ${prompts}; up to ${w.outputTokens} output tokens`;
}

/** The dialect a run spoke; runs written before there was a choice spoke chat completions. */
const apiName = (r: BenchResult) =>
  (({ chat: 'chat completions', responses: 'Responses API', messages: 'Anthropic Messages' }) as const)[r.target.api ?? 'chat'];

const sloText = (r: BenchResult) =>
  Object.entries(r.options.slo)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k.replace('Ms', '')} <= ${v} ms`)
    .join(', ');

export function textReport(r: BenchResult): string {
  const row = (name: string, p: Percentiles) =>
    `${name.padEnd(24)}${f(p.p50).padStart(10)}${f(p.p90).padStart(10)}${f(p.p99).padStart(10)}${f(p.p999).padStart(10)}${f(p.mean).padStart(10)}`;
  const slo = sloText(r);
  return [
    describeRun(r),
    `${r.requests.ok} ok, ${r.requests.errors} failed of ${r.requests.sent} sent in ${f(r.durationS, 2)} s${r.errorSamples.length ? `; errors: ${r.errorSamples.join(' | ')}` : ''}`,
    '',
    `${'latency (ms)'.padEnd(24)}${'p50'.padStart(10)}${'p90'.padStart(10)}${'p99'.padStart(10)}${'p99.9'.padStart(10)}${'mean'.padStart(10)}`,
    row('time to first token', r.ttftMs),
    row('inter-token latency', r.itlMs),
    row('time per output token', r.tpotMs),
    row('end to end', r.e2eMs),
    '',
    `throughput: ${f(r.throughput.requestsPerS, 2)} req/s, ${f(r.throughput.outputTokensPerS)} output tok/s, ${f(r.throughput.totalTokensPerS)} total tok/s`,
    // Without an objective every answered request counts as good: a goodput line would only repeat throughput.
    ...(slo ? [`goodput (${slo}): ${f(r.goodput.requestsPerS, 2)} req/s, ${f(r.goodput.share * 100)}% of requests`] : []),
  ].join('\n');
}

export function htmlReport(runs: readonly { name: string; result: BenchResult }[]): string {
  const cdf = svgChart({
    title: 'End-to-end latency, cumulative',
    xLabel: 'ms',
    yLabel: 'share of requests',
    yMax: 1,
    yFormat: (v) => `${Math.round(v * 100)}%`,
    series: runs.flatMap(({ name, result }) => [
      { name: `${name} e2e`, data: result.cdf.e2e },
      { name: `${name} TTFT`, data: result.cdf.ttft },
    ]),
  });
  const overTime = svgChart({
    title: 'Output tokens per second, over the run',
    xLabel: 'second',
    yLabel: 'tokens/s',
    series: runs.map(({ name, result }) => ({ name, data: result.timeline.map((t) => [t.second, t.outputTokens] as [number, number]) })),
  });
  const tables = runs.map(({ name, result }) => `<h2>${escapeHtml(name)}</h2><pre>${escapeHtml(textReport(result))}</pre>`).join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>autoglm bench</title>
<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}pre{background:#f6f6f6;padding:1em;overflow:auto}.charts{display:flex;flex-wrap:wrap;gap:1em}</style>
</head><body><h1>autoglm bench</h1><div class="charts">${cdf}${overTime}</div>${tables}</body></html>\n`;
}

const escapeHtml = (s: string) => s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);

/** A against B: the same numbers side by side, with B's change relative to A. */
export function compareReport(a: BenchResult, b: BenchResult, names: [string, string]): string {
  const rows: [string, number, number, 'lower' | 'higher'][] = [
    ['output tok/s', a.throughput.outputTokensPerS, b.throughput.outputTokensPerS, 'higher'],
    ['requests/s', a.throughput.requestsPerS, b.throughput.requestsPerS, 'higher'],
    ['TTFT p50 ms', a.ttftMs.p50, b.ttftMs.p50, 'lower'],
    ['TTFT p99 ms', a.ttftMs.p99, b.ttftMs.p99, 'lower'],
    ['TPOT p50 ms', a.tpotMs.p50, b.tpotMs.p50, 'lower'],
    ['ITL p99 ms', a.itlMs.p99, b.itlMs.p99, 'lower'],
    ['e2e p50 ms', a.e2eMs.p50, b.e2eMs.p50, 'lower'],
    ['e2e p99 ms', a.e2eMs.p99, b.e2eMs.p99, 'lower'],
    ['errors', a.requests.errors, b.requests.errors, 'lower'],
  ];
  if (sloText(a) && sloText(a) === sloText(b)) rows.splice(2, 0, ['goodput req/s', a.goodput.requestsPerS, b.goodput.requestsPerS, 'higher']);
  const lines = [`${'metric'.padEnd(16)}${names[0].slice(0, 14).padStart(15)}${names[1].slice(0, 14).padStart(15)}${'change'.padStart(10)}  `];
  for (const [name, va, vb, better] of rows) {
    const change = va === 0 ? (vb === 0 ? 0 : Infinity) : (vb - va) / va;
    const verdict = Math.abs(change) < 0.03 ? 'same' : change > 0 === (better === 'higher') ? 'better' : 'worse';
    lines.push(
      `${name.padEnd(16)}${f(va, 2).padStart(15)}${f(vb, 2).padStart(15)}${(Number.isFinite(change) ? `${change >= 0 ? '+' : ''}${f(change * 100)}%` : 'new').padStart(10)}  ${verdict}`,
    );
  }
  return lines.join('\n');
}

/** What differs between two runs' loads, so an A/B table is not read as a change of server when it is a change of test. */
export function compareWarnings(a: BenchResult, b: BenchResult): string[] {
  const load = (r: BenchResult) =>
    r.options.mode === 'open' ? `open loop at ${r.options.rate} req/s (${r.options.arrival})` : `closed loop of ${r.options.concurrency} users`;
  const w = (r: BenchResult) => r.options.workload;
  const prompts = (r: BenchResult) =>
    w(r).dataset
      ? `questions from ${w(r).dataset}`
      : `${w(r).inputTokens}-word prompts${w(r).sharedPrefixTokens ? ` after a ${w(r).sharedPrefixTokens}-word prefix in ${w(r).prefixGroups} groups` : ''}`;
  const checks: [string, (r: BenchResult) => string][] = [
    ['load', load],
    ['SLOs', (r) => sloText(r) || 'none'],
    ['prompts', prompts],
    ['output tokens', (r) => String(w(r).outputTokens)],
    ['model', (r) => r.target.model],
    ['API', apiName],
  ];
  return checks.filter(([, of]) => of(a) !== of(b)).map(([what, of]) => `the runs differ in ${what}: A ${of(a)}, B ${of(b)}`);
}
