// The dashboard's prompt panel: each managed prompt served by a split or a bandit, its versions' share of traffic and
// mean feedback score, and each version's share over time as a line, read from /admin/prompts/NAME/arms.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);

interface ArmRow {
  version: number;
  served: number;
  share: number;
  feedback: number;
  mean_score: number | null;
}
interface ArmPoint {
  version: number;
  bucketMs: number;
  served: number;
}
interface ArmsReport {
  prompt: string;
  policy: 'bandit' | 'split' | 'latest';
  floor?: number;
  arms: ArmRow[];
  series: ArmPoint[];
}

const POLL_MS = 5000;
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/** Each version's share of the requests of each time bucket, as [bucket, share] points in bucket order. */
export function sharesOverTime(series: readonly ArmPoint[]): Map<number, [number, number][]> {
  const buckets = [...new Set(series.map((p) => p.bucketMs))].sort((a, b) => a - b);
  const total = new Map<number, number>();
  for (const p of series) total.set(p.bucketMs, (total.get(p.bucketMs) ?? 0) + p.served);
  const byVersion = new Map<number, [number, number][]>();
  for (const v of new Set(series.map((p) => p.version))) {
    byVersion.set(
      v,
      buckets.map((b) => {
        const served = series.find((p) => p.version === v && p.bucketMs === b)?.served ?? 0;
        return [b, (total.get(b) ?? 0) > 0 ? served / total.get(b)! : 0];
      }),
    );
  }
  return byVersion;
}

/** Share over time, one line per version, on a 0-100% axis: a small picture of where the traffic went. */
function ShareChart({ series, colour }: { series: readonly ArmPoint[]; colour: (version: number) => string }) {
  const lines = sharesOverTime(series);
  const [w, hgt, pad] = [320, 90, 4];
  const buckets = [...new Set(series.map((p) => p.bucketMs))];
  if (buckets.length < 2) return html`<p class="note">Shares over time appear once traffic spans two time buckets.</p>`;
  const [first, last] = [Math.min(...buckets), Math.max(...buckets)];
  const x = (t: number) => pad + ((t - first) / (last - first)) * (w - 2 * pad);
  const y = (share: number) => hgt - pad - share * (hgt - 2 * pad);
  return html`<svg class="arms-chart" viewBox="0 0 ${w} ${hgt}" role="img" aria-label="share of traffic per version over time">
    <line x1=${pad} x2=${w - pad} y1=${y(0.5)} y2=${y(0.5)} stroke="#e5e5e5" />
    ${[...lines].map(
      ([version, points]) =>
        html`<polyline data-version=${version} fill="none" stroke=${colour(version)} stroke-width="2"
          points=${points.map(([t, s]) => `${x(t).toFixed(1)},${y(s).toFixed(1)}`).join(' ')} />`,
    )}
  </svg>`;
}

/** Every prompt whose traffic is shared between versions (a split or a bandit), polled every few seconds. */
export function PromptArms({ headers }: { headers: () => Record<string, string> }) {
  const [reports, setReports] = useState<ArmsReport[]>([]);
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const list = (await (await fetch('/admin/prompts', { headers: headers() })).json()) as { data?: { name: string }[] };
        const all = await Promise.all(
          (list.data ?? []).map(async (p) => {
            const res = await fetch(`/admin/prompts/${encodeURIComponent(p.name)}/arms?bucket_seconds=10`, { headers: headers() });
            return res.ok ? ((await res.json()) as ArmsReport) : undefined;
          }),
        );
        if (!stopped) setReports(all.filter((r): r is ArmsReport => r !== undefined && r.policy !== 'latest'));
      } catch {
        // The next poll tries again; the stats panel already says when the server cannot be reached.
      }
    };
    void poll();
    const timer = setInterval(poll, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  if (reports.length === 0) return null;
  return html`<section class="wide" data-testid="prompt-arms"><h2>Prompt versions</h2>
    ${reports.map((r) => {
      const colour = (version: number) =>
        COLOURS[
          Math.max(
            0,
            r.arms.findIndex((a) => a.version === version),
          ) % COLOURS.length
        ]!;
      return html`<div class="arms"><h3>${r.prompt} <span class="note">${r.policy}${r.floor === undefined ? '' : `, exploration floor ${Math.round(r.floor * 100)}%`}</span></h3>
        <div class="table"><table><tr><th>version</th><th class="num">share</th><th class="num">served</th><th class="num">feedback</th><th class="num">mean score</th></tr>
          ${r.arms.map(
            (a) =>
              html`<tr data-version=${a.version}><td><span class="swatch" style=${`background:${colour(a.version)}`}></span>${a.version}</td><td class="num" data-testid="arm-share">${(100 * a.share).toFixed(0)}%</td><td class="num">${a.served}</td><td class="num">${a.feedback}</td><td class="num">${a.mean_score === null ? '–' : a.mean_score.toFixed(2)}</td></tr>`,
          )}
        </table></div>
        <${ShareChart} series=${r.series} colour=${colour} />
      </div>`;
    })}
  </section>`;
}
