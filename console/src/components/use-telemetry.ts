import { useEffect, useState } from 'react';
import { useClient } from 'urql';
import { TELEMETRY_QUERY, type TelemetryResult } from '../api/documents';
import { plainMessage } from '../api/errors';
import type { Series } from './telemetry-chart';

/** Ranges the picker offers, from the last hour to the last 30 days. */
export const RANGES = [
  { id: '1h', label: 'Last hour', ms: 3_600_000 },
  { id: '6h', label: 'Last 6 hours', ms: 6 * 3_600_000 },
  { id: '24h', label: 'Last 24 hours', ms: 24 * 3_600_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
] as const;

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
  /** True when the range held more than {@link MAX_POINTS} points and only the first were read. */
  readonly truncated: boolean;
}

/** Reads one metric's numeric points over a range, page by page, oldest first. */
export function useTelemetry(deviceId: string, metric: string, range: RangeId, reload: number): TelemetryState {
  const client = useClient();
  const [state, setState] = useState<TelemetryState>({ loading: true, from: 0, truncated: false });
  useEffect(() => {
    let cancelled = false;
    const to = new Date(Date.now() + 60_000);
    const from = new Date(to.getTime() - 60_000 - RANGES.find((r) => r.id === range)!.ms);
    setState({ loading: true, from: from.getTime(), truncated: false });
    (async () => {
      const times: number[] = [];
      const values: number[] = [];
      let nextToken: string | null = null;
      do {
        const result = await client
          .query<TelemetryResult>(
            TELEMETRY_QUERY,
            { deviceId, metric, from: from.toISOString(), to: to.toISOString(), limit: PAGE, nextToken },
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
        nextToken = result.data.telemetry.nextToken ?? null;
      } while (nextToken && times.length < MAX_POINTS);
      setState({ loading: false, from: from.getTime(), truncated: Boolean(nextToken), series: { times, values } });
    })();
    return () => {
      cancelled = true;
    };
  }, [client, deviceId, metric, range, reload]);
  return state;
}

/** `series` with one live point added (in time order, no duplicate timestamp). */
export function withLivePoint(series: Series, seconds: number, value: number): Series {
  const last = series.times[series.times.length - 1];
  if (last !== undefined && seconds <= last) return series;
  return { times: [...series.times, seconds], values: [...series.values, value] };
}
