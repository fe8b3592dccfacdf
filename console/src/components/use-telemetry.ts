import { useEffect, useState } from 'react';
import { useClient } from 'urql';
import { TELEMETRY_QUERY, type TelemetryResult } from '../api/documents';
import { plainMessage } from '../api/errors';
import type { Series } from './telemetry-chart';

/**
 * Ranges the picker offers, from the last hour to the last 30 days. Up to 6 hours the chart
 * reads raw points; longer ranges read rollups (at most 1,440 buckets: a minute over a day, an
 * hour over a week or a month), so a month costs the same few requests as an hour.
 */
export const RANGES = [
  { id: '1h', label: 'Last hour', ms: 3_600_000, resolution: 'RAW' },
  { id: '6h', label: 'Last 6 hours', ms: 6 * 3_600_000, resolution: 'RAW' },
  { id: '24h', label: 'Last 24 hours', ms: 24 * 3_600_000, resolution: 'MINUTE' },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000, resolution: 'HOUR' },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000, resolution: 'HOUR' },
] as const;

/** Words for a range's resolution, for the chart's caption. */
export const RESOLUTION_WORDS = { RAW: 'points', MINUTE: 'per minute', HOUR: 'per hour', DAY: 'per day' } as const;

/** One of {@link RANGES}. */
export type RangeId = (typeof RANGES)[number]['id'];

/** At most this many points per chart: what a chart this wide can show, and a bounded download. */
export const MAX_POINTS = 10_000;
const PAGE = 1000;

/** The state of one metric's points. */
export interface TelemetryState {
  readonly series?: Series;
  readonly loading: boolean;
  readonly error?: string;
  /** The window's start, in ms (points older than it are dropped as the window slides). */
  readonly from: number;
  /** The window's end, in ms, when the points were read. */
  readonly to?: number;
  /** True when the range held more than {@link MAX_POINTS} points and only the first were read. */
  readonly truncated: boolean;
  /** What the series holds: raw points, or one average (with min and max) per bucket. */
  readonly resolution?: (typeof RANGES)[number]['resolution'];
}

/** Reads one metric's numeric points over a range, page by page, oldest first. */
export function useTelemetry(deviceId: string, metric: string, range: RangeId, reload: number): TelemetryState {
  const client = useClient();
  const [state, setState] = useState<TelemetryState>({ loading: true, from: 0, truncated: false });
  useEffect(() => {
    let cancelled = false;
    const to = new Date(Date.now() + 60_000);
    const { ms, resolution } = RANGES.find((r) => r.id === range)!;
    const from = new Date(to.getTime() - 60_000 - ms);
    setState({ loading: true, from: from.getTime(), truncated: false });
    (async () => {
      const times: number[] = [];
      const values: number[] = [];
      // Per bucket: the average is the line, min and max the band around it.
      const min: Array<number | null> = [];
      const max: Array<number | null> = [];
      let nextToken: string | null = null;
      do {
        const result = await client
          .query<TelemetryResult>(
            TELEMETRY_QUERY,
            { deviceId, metric, from: from.toISOString(), to: to.toISOString(), limit: PAGE, nextToken, resolution },
            { requestPolicy: 'network-only' },
          )
          .toPromise();
        if (cancelled) return;
        if (result.error || !result.data) {
          setState({ loading: false, from: from.getTime(), truncated: false, error: result.error ? plainMessage(result.error) : 'No answer' });
          return;
        }
        for (const point of result.data.telemetry.items) {
          if (typeof point.numberValue === 'number') {
            times.push(Date.parse(point.timestamp) / 1000);
            values.push(point.numberValue);
          }
        }
        for (const bucket of result.data.telemetry.buckets) {
          if (typeof bucket.avg === 'number') {
            times.push(Date.parse(bucket.start) / 1000);
            values.push(bucket.avg);
            min.push(bucket.min ?? null);
            max.push(bucket.max ?? null);
          }
        }
        nextToken = result.data.telemetry.nextToken ?? null;
      } while (nextToken && times.length < MAX_POINTS);
      const series: Series = resolution === 'RAW' ? { times, values } : { times, values, min, max };
      setState({ loading: false, from: from.getTime(), to: to.getTime(), truncated: Boolean(nextToken), series, resolution });
    })();
    return () => {
      cancelled = true;
    };
  }, [client, deviceId, metric, range, reload]);
  return state;
}

/** `series` of raw points with one live point added (in time order, no duplicate timestamp). */
export function withLivePoint(series: Series, seconds: number, value: number): Series {
  const last = series.times[series.times.length - 1];
  // A bucketed series holds averages: a raw reading is not one of its points.
  if (series.min || (last !== undefined && seconds <= last)) return series;
  return { times: [...series.times, seconds], values: [...series.values, value] };
}
