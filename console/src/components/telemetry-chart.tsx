import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Points of one metric: seconds since the epoch and values, oldest first. */
export interface Series {
  readonly times: number[];
  readonly values: number[];
}

/** uPlot options for one metric at `width` pixels. */
export function chartOptions(metric: string, width: number, height = 220): uPlot.Options {
  return {
    width,
    height,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true } },
    series: [{}, { label: metric, stroke: '#1f6feb', width: 1.5, points: { show: false } }],
    axes: [{ stroke: '#555' }, { stroke: '#555', size: 56 }],
  };
}

/**
 * Draws `series` into `target` with uPlot (canvas, no per-point DOM), which is what keeps a
 * 10,000-point chart well under a frame budget. Returns the plot, to update or destroy.
 */
export function drawChart(target: HTMLElement, metric: string, series: Series, width: number): uPlot {
  const data: uPlot.AlignedData = [series.times, series.values];
  return new uPlot(chartOptions(metric, width), data, target);
}

/** A telemetry chart that follows its container's width and redraws when points change. */
export function TelemetryChart({ metric, series, label }: { metric: string; series: Series; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    plot.current = drawChart(el, metric, series, Math.max(el.clientWidth, 200));
    const observer = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(el.clientWidth, 200), height: 220 }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
    // The plot is made once per metric; new points go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [metric]);

  useEffect(() => {
    plot.current?.setData([series.times, series.values]);
  }, [series]);

  return <div className="chart" ref={box} role="img" aria-label={label} data-points={series.times.length} />;
}
