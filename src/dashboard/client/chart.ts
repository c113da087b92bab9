// One uPlot time-series chart as a Preact component: made once, fed new columns on each
// poll, resized with its box.
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { Columns } from './series.ts';

export interface SeriesSpec {
  label: string;
  color: string;
  /** Fill under the line, as a CSS colour (with alpha); none when absent. */
  fill?: string;
}

export interface ChartProps {
  title: string;
  /** The figure shown beside the title: the latest value, formatted. */
  headline: string;
  series: SeriesSpec[];
  data: Columns;
  /** Formats a y value for the axis and the legend. */
  format: (v: number | null) => string;
  testId: string;
}

const AXIS = '#8a97a8';
const GRID = 'rgba(138, 151, 168, 0.12)';
const HEIGHT = 170;
const MIN_WINDOW_S = 60;

function latest(col: ArrayLike<number | null | undefined> | undefined): number | null {
  for (let i = (col?.length ?? 0) - 1; i >= 0; i--) {
    const v = col?.[i];
    if (typeof v === 'number') return v;
  }
  return null;
}

function options(p: ChartProps, width: number): uPlot.Options {
  // With the cursor off the chart the legend shows each series' latest value.
  const fmt = (u: uPlot, v: number | null, sidx: number, idx: number | null) =>
    p.format(idx === null ? latest(u.data[sidx]) : v);
  return {
    width,
    height: HEIGHT,
    padding: [8, 8, 0, 0],
    cursor: { points: { size: 6 }, drag: { x: false, y: false } },
    legend: { live: true },
    scales: {
      // At least a minute wide, new samples entering from the right, so the first seconds
      // do not stretch across the whole chart.
      x: {
        time: true,
        range: (_u, min, max) => {
          const end = max ?? Date.now() / 1000;
          return [Math.min(min ?? end, end - MIN_WINDOW_S), end];
        },
      },
      y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] },
    },
    axes: [
      {
        stroke: AXIS,
        grid: { stroke: GRID, width: 1 },
        ticks: { stroke: GRID, width: 1 },
        font: '11px system-ui, sans-serif',
      },
      {
        stroke: AXIS,
        grid: { stroke: GRID, width: 1 },
        ticks: { show: false },
        size: 56,
        font: '11px system-ui, sans-serif',
        values: (_u, vals) => vals.map((v) => p.format(v)),
      },
    ],
    series: [
      { value: (_u, v) => (v == null ? '—' : new Date(v * 1000).toLocaleTimeString()) },
      ...p.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        ...(s.fill ? { fill: s.fill } : {}),
        points: { show: false },
        spanGaps: false,
        value: fmt,
      })),
    ],
  };
}

export function Chart(p: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const u = new uPlot(options(p, el.clientWidth || 300), p.data as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      if (el.clientWidth > 0) u.setSize({ width: el.clientWidth, height: HEIGHT });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    u.setData(p.data as uPlot.AlignedData);
    // Refreshes the legend's latest values while no one points at the chart.
    if (u.cursor.idx == null) u.setLegend({ idx: null as unknown as number });
  }, [p.data]);

  return html`<section class="panel chart" data-testid=${p.testId} data-points=${p.data[0].length}>
    <header><h2>${p.title}</h2><span class="headline">${p.headline}</span></header>
    <div class="plot" ref=${box}></div>
  </section>`;
}
