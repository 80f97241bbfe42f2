// Small SVG charts for reports (bench, eval): lines and labelled points with intervals on linear axes.
// Written by hand: a few dozen shapes do not warrant a plotting library and a headless browser or canvas to run it.

export interface Series {
  name: string;
  /** [x, y] pairs; drawn as a line unless `points` is set. */
  data: [number, number][];
  /** Draw each pair as a labelled dot, with an optional vertical interval [low, high] per pair. */
  points?: { label?: string; interval?: [number, number] }[];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  yFormat?: (v: number) => string;
  xFormat?: (v: number) => string;
  yMax?: number;
  width?: number;
  height?: number;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];
const escapeXml = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
const round = (v: number) => Math.round(v * 10) / 10;

export function svgChart(o: ChartOptions): string {
  const [w, h, left, bottom, top, right] = [o.width ?? 640, o.height ?? 360, 70, 48, 40, 130];
  const all = o.series.flatMap((s) => s.data);
  const xMax = Math.max(1e-9, ...all.map((p) => p[0])) * 1.05;
  const yMax = o.yMax ?? Math.max(1e-9, ...all.map((p) => p[1]), ...o.series.flatMap((s) => s.points?.map((p) => p.interval?.[1] ?? 0) ?? [])) * 1.1;
  const x = (v: number) => round(left + (v / xMax) * (w - left - right));
  const y = (v: number) => round(h - bottom - (v / yMax) * (h - bottom - top));
  const fy = o.yFormat ?? ((v: number) => String(Math.round(v * 100) / 100));
  const fx = o.xFormat ?? ((v: number) => String(Math.round(v * 100) / 100));
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const parts: string[] = [
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${(left + w - right) / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(o.title)}</text>`,
    ...ticks.map(
      (f) =>
        `<line x1="${left}" x2="${w - right}" y1="${y(f * yMax)}" y2="${y(f * yMax)}" stroke="#e5e5e5"/><text x="${left - 8}" y="${y(f * yMax) + 4}" text-anchor="end" font-size="11">${escapeXml(fy(f * yMax))}</text>`,
    ),
    ...ticks.map((f) => `<text x="${x(f * xMax)}" y="${h - bottom + 16}" text-anchor="middle" font-size="11">${escapeXml(fx(f * xMax))}</text>`),
    `<text x="${(left + w - right) / 2}" y="${h - 12}" text-anchor="middle" font-size="12">${escapeXml(o.xLabel)}</text>`,
    `<text x="16" y="${(top + h - bottom) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${(top + h - bottom) / 2})">${escapeXml(o.yLabel)}</text>`,
  ];
  o.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    if (s.points) {
      s.data.forEach(([px, py], j) => {
        const p = s.points![j] ?? {};
        if (p.interval) parts.push(`<line x1="${x(px)}" x2="${x(px)}" y1="${y(p.interval[0])}" y2="${y(p.interval[1])}" stroke="${colour}" stroke-width="2"/>`);
        parts.push(`<circle cx="${x(px)}" cy="${y(py)}" r="5" fill="${colour}"/>`);
        if (p.label) parts.push(`<text x="${x(px) + 8}" y="${y(py) - 8}" font-size="12" fill="${colour}">${escapeXml(p.label)}</text>`);
      });
    } else if (s.data.length) {
      parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${s.data.map(([px, py]) => `${x(px)},${y(py)}`).join(' ')}"/>`);
    }
    parts.push(
      `<rect x="${w - right + 12}" y="${top + i * 18}" width="10" height="10" fill="${colour}"/><text x="${w - right + 28}" y="${top + i * 18 + 9}" font-size="11">${escapeXml(s.name)}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">\n${parts.join('\n')}\n</svg>\n`;
}
