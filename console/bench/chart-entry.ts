/**
 * Browser side of bench:console's chart figure: draws one metric with the console's own uPlot
 * options and reports, per run, the milliseconds from creating the chart to uPlot's draw hook.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { chartOptions } from '../src/components/telemetry-chart';

/** Points 10 s apart ending now, a noisy sine like a temperature. */
function series(points: number): uPlot.AlignedData {
  const now = Date.now() / 1000;
  const times = Array.from({ length: points }, (_, i) => now - (points - i) * 10);
  const values = times.map((_, i) => 20 + 5 * Math.sin(i / 50) + Math.random());
  return [times, values];
}

/** Draws a `points`-point chart `runs` times; returns each draw's milliseconds. */
async function drawTimes(points: number, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const box = document.createElement('div');
    box.style.width = '1200px';
    document.body.append(box);
    const data = series(points);
    const drawn = await new Promise<number>((resolve) => {
      const options = chartOptions('temperature', 1200);
      const started = performance.now();
      options.hooks = { draw: [() => resolve(performance.now() - started)] };
      new uPlot(options, data, box);
    });
    times.push(drawn);
    box.remove();
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  return times;
}

(globalThis as unknown as { drawTimes: typeof drawTimes }).drawTimes = drawTimes;
