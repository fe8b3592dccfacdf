/**
 * Rollup arithmetic shared by every telemetry store: resolutions, UTC bucket bounds, and the
 * per-bucket aggregate (count, min, max, sum, last) with its exact merge. Pure: no I/O.
 *
 * min, max and avg cover the bucket's numeric values only (a metric can be a number in one
 * reading and a string in another); count covers every value; last is the value of the
 * reading with the greatest (ts, seq), whatever its type.
 */
import type { ReadingValue } from './device.js';

/** Resolutions a telemetry query can ask for; RAW returns the readings themselves. */
export const TELEMETRY_RESOLUTIONS = ['RAW', 'MINUTE', 'HOUR', 'DAY'] as const;

/** One of {@link TELEMETRY_RESOLUTIONS}. */
export type TelemetryResolution = (typeof TELEMETRY_RESOLUTIONS)[number];

/** A resolution that aggregates. */
export type RollupResolution = Exclude<TelemetryResolution, 'RAW'>;

/** Bucket length in ms per aggregating resolution (UTC-aligned from the epoch). */
export const BUCKET_MS: Readonly<Record<RollupResolution, number>> = Object.freeze({ MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 });

/** The start of the bucket holding `ts`. */
export const bucketStart = (ts: number, resolution: RollupResolution): number => ts - (((ts % BUCKET_MS[resolution]) + BUCKET_MS[resolution]) % BUCKET_MS[resolution]);

/** The running aggregate of one bucket. */
export interface BucketAggregate {
  /** Values of any type. */
  count: number;
  /** Numeric values (min, max and sum cover these). */
  numeric: number;
  min?: number;
  max?: number;
  sum: number;
  last: ReadingValue;
  /** (ts, seq) of `last`: decides which value is last when aggregates merge. */
  lastTs: number;
  lastSeq: number;
}

/** What a query returns per bucket. */
export interface TelemetryBucket {
  /** Epoch ms of the bucket's start. */
  readonly start: number;
  readonly count: number;
  readonly min?: number;
  readonly max?: number;
  readonly avg?: number;
  readonly last: ReadingValue;
}

/** The aggregate of one value. */
export function aggregateOf(ts: number, seq: number, value: ReadingValue): BucketAggregate {
  const numeric = typeof value === 'number';
  return { count: 1, numeric: numeric ? 1 : 0, ...(numeric && { min: value, max: value }), sum: numeric ? value : 0, last: value, lastTs: ts, lastSeq: seq };
}

/** `a` merged with `b` (disjoint sets of readings): a new aggregate. */
export function mergeAggregates(a: BucketAggregate, b: BucketAggregate): BucketAggregate {
  const bLater = b.lastTs > a.lastTs || (b.lastTs === a.lastTs && b.lastSeq > a.lastSeq);
  const later = bLater ? b : a;
  const min = a.min === undefined ? b.min : b.min === undefined ? a.min : Math.min(a.min, b.min);
  const max = a.max === undefined ? b.max : b.max === undefined ? a.max : Math.max(a.max, b.max);
  return {
    count: a.count + b.count,
    numeric: a.numeric + b.numeric,
    ...(min !== undefined && { min }),
    ...(max !== undefined && { max }),
    sum: a.sum + b.sum,
    last: later.last,
    lastTs: later.lastTs,
    lastSeq: later.lastSeq,
  };
}

/** What a query returns for an aggregate. */
export function toBucket(start: number, aggregate: BucketAggregate): TelemetryBucket {
  return {
    start,
    count: aggregate.count,
    ...(aggregate.min !== undefined && { min: aggregate.min }),
    ...(aggregate.max !== undefined && { max: aggregate.max }),
    ...(aggregate.numeric > 0 && { avg: aggregate.sum / aggregate.numeric }),
    last: aggregate.last,
  };
}

/** Values of one metric grouped into buckets of `resolution`, keyed by bucket start. */
export function aggregateSamples(
  samples: Iterable<{ readonly ts: number; readonly seq: number; readonly value: ReadingValue }>,
  resolution: RollupResolution,
): Map<number, BucketAggregate> {
  const buckets = new Map<number, BucketAggregate>();
  for (const { ts, seq, value } of samples) {
    const start = bucketStart(ts, resolution);
    const one = aggregateOf(ts, seq, value);
    const current = buckets.get(start);
    buckets.set(start, current ? mergeAggregates(current, one) : one);
  }
  return buckets;
}
