import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * Points of one metric: seconds since the epoch and values, oldest first. A rolled-up series
 * holds each bucket's start and average, with its minimum and maximum beside them.
 */
export interface Series {
  readonly times: number[];
  readonly values: number[];
  readonly min?: Array<number | null>;
  readonly max?: Array<number | null>;
}

/**
 * uPlot options for one metric at `width` pixels; `banded` adds the min-max band of rollups, and
 * `span` ([from, to] in seconds) pins the time axis to the range picked, however few points fall in it.
 */
export function chartOptions(metric: string, width: number, height = 220, banded = false, span?: [number, number]): uPlot.Options {
  // uPlot's own rule shows a dot per point only while they are sparse, so a lone reading is visible.
  const line: uPlot.Series = { label: banded ? `${metric} (average)` : metric, stroke: '#1f6feb', width: 1.5 };
  const edge = (label: string): uPlot.Series => ({ label, stroke: 'rgba(31, 111, 235, 0.35)', width: 1, points: { show: false } });
  return {
    width,
    height,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    // Live points may run past the end of the range read: the axis grows to the last one. (Not
    // uPlot's proposed max: for a lone point it proposes the point plus 1,000 days.)
    scales: { x: { time: true, ...(span && { range: (u: uPlot): uPlot.Range.MinMax => [span[0], Math.max(span[1], u.data[0][u.data[0].length - 1] ?? span[1])] }) } },
    series: banded ? [{}, line, edge(`${metric} (minimum)`), edge(`${metric} (maximum)`)] : [{}, line],
    // The band fills between the maximum (series 3) and the minimum (series 2).
    ...(banded && { bands: [{ series: [3, 2], fill: 'rgba(31, 111, 235, 0.12)' }] }),
    axes: [{ stroke: '#555' }, { stroke: '#555', size: 56 }],
  };
}

function alignedData(series: Series): uPlot.AlignedData {
  return series.min && series.max ? [series.times, series.values, series.min, series.max] : [series.times, series.values];
}

/**
 * Draws `series` into `target` with uPlot (canvas, no per-point DOM), which is what keeps a
 * 10,000-point chart well under a frame budget. Returns the plot, to update or destroy.
 */
export function drawChart(target: HTMLElement, metric: string, series: Series, width: number, span?: [number, number]): uPlot {
  return new uPlot(chartOptions(metric, width, 220, Boolean(series.min), span), alignedData(series), target);
}

/** A telemetry chart that follows its container's width and redraws when points change. */
export function TelemetryChart({ metric, series, label, span }: { metric: string; series: Series; label: string; span?: [number, number] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);

  const banded = Boolean(series.min);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    plot.current = drawChart(el, metric, series, Math.max(el.clientWidth, 200), span);
    const observer = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(el.clientWidth, 200), height: 220 }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
    // The plot is made once per metric and shape (line, or band of rollups); new points go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [metric, banded, span?.[0], span?.[1]]);

  useEffect(() => {
    plot.current?.setData(alignedData(series));
  }, [series]);

  return <div className="chart" ref={box} role="img" aria-label={label} data-points={series.times.length} data-banded={banded || undefined} />;
}
