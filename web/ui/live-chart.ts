// A live chart of the last minute, one point a second (uPlot): drawn with its frame at once, before any data, and
// resized with its card; the time axis reads as clock times spaced so that no two labels touch.
import { h } from 'preact';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';

const html = htm.bind(h);
const HEIGHT = 180;
/** Seconds between x-axis ticks that uPlot may choose from; it takes the smallest that leaves `space` pixels apart. */
const TICK_SECONDS = [5, 10, 15, 20, 30, 60];
/** Room for one "20:34:10" label in the axis font, with a gap. */
const LABEL_SPACE_PX = 72;

const clockTime = (epochSeconds: number) =>
  new Date(epochSeconds * 1000).toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** The last minute with nothing in it, so the first frame has its axes before the first poll answers. */
export function emptyMinute(nowMs = Date.now()): number[] {
  const last = Math.floor(nowMs / 1000) - 1;
  return Array.from({ length: 60 }, (_, i) => last - 59 + i);
}

export interface ChartProps {
  title: string;
  unit: string;
  /** Epoch seconds, one per point. */
  times: number[];
  /** One array per series, as long as `times`; the first is the main series, a second one is errors. */
  values: number[][];
  series: string[];
}

export function LiveChart({ title, unit, times, values, series }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  // Made before the browser paints: the first frame already has the chart.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    plot.current = new uPlot(
      {
        width: el.clientWidth || 400,
        height: HEIGHT,
        series: [{}, ...series.map((label, i) => ({ label, stroke: i === 0 ? '#1f77b4' : '#cf222e', width: 2 }))],
        axes: [
          { space: LABEL_SPACE_PX, incrs: TICK_SECONDS, values: (_u, splits) => splits.map(clockTime), size: 32 },
          { label: unit, size: 56 },
        ],
        scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        // Room on the right for half of the last time label, which is centred on its tick at the plot's edge.
        padding: [12, LABEL_SPACE_PX / 2, 0, 0],
        legend: { live: false },
        cursor: { show: false },
      },
      [times, ...values],
      el,
    );
    const resized = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: HEIGHT }));
    resized.observe(el);
    return () => {
      resized.disconnect();
      plot.current?.destroy();
    };
  }, []);
  useEffect(() => plot.current?.setData([times, ...values]), [times, values]);
  return html`<section><h2>${title}</h2><div class="chart" ref=${box}></div></section>`;
}
