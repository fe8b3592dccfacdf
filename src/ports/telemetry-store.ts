import type { ReadingValue } from '../domain/device.js';
import type { RollupResolution, TelemetryBucket } from '../domain/telemetry-rollup.js';

/** One validated reading of one device: (deviceId, seq) identifies it. */
export interface TelemetryPoint {
  readonly deviceId: string;
  /** Epoch milliseconds of the measurement. */
  readonly ts: number;
  /** The device's sequence number; a point written twice with the same (deviceId, seq) is stored once. */
  readonly seq: number;
  readonly metrics: Readonly<Record<string, ReadingValue>>;
}

/** A point the store refused for a reason of its own (not an outage); the caller dead-letters it. */
export interface RejectedPoint {
  readonly point: TelemetryPoint;
  readonly reason: string;
}

/** Outcome of a write: every point not listed in `rejected` is durably stored. */
export interface TelemetryWriteResult {
  readonly rejected: readonly RejectedPoint[];
}

/** Writes telemetry points. Idempotent per (deviceId, seq); throws UnavailableError when the store cannot be reached. */
export interface TelemetryWriter {
  write(points: readonly TelemetryPoint[]): Promise<TelemetryWriteResult>;
}

/** A time-range query for one metric of one device. */
export interface TelemetryQuery {
  readonly deviceId: string;
  readonly metric: string;
  /** Inclusive, epoch milliseconds. */
  readonly from: number;
  /** Exclusive, epoch milliseconds. */
  readonly to: number;
  /** 1..1000 */
  readonly limit: number;
  /** From a previous page's `nextCursor`. */
  readonly cursor?: string;
}

/** One value of one metric. */
export interface TelemetrySample {
  /** Epoch milliseconds. */
  readonly ts: number;
  readonly seq: number;
  readonly value: ReadingValue;
}

/** Samples in ascending (ts, seq) order; `nextCursor` is absent on the last page. */
export interface TelemetryPage {
  readonly items: TelemetrySample[];
  readonly nextCursor?: string;
}

/** A query for the rollups of one metric: every whole bucket that starts in [bucket of `from`, `to`). */
export interface TelemetryRollupQuery extends TelemetryQuery {
  readonly resolution: RollupResolution;
}

/** Buckets in ascending start order; `nextCursor` is absent on the last page. */
export interface TelemetryBucketPage {
  readonly items: TelemetryBucket[];
  readonly nextCursor?: string;
}

/** Reads telemetry. ValidationError for a bad range, limit or cursor. */
export interface TelemetryReader {
  /** Raw readings. */
  query(query: TelemetryQuery): Promise<TelemetryPage>;
  /** Per-bucket min, max, avg, count and last; a reading stored twice counts once. */
  rollups(query: TelemetryRollupQuery): Promise<TelemetryBucketPage>;
}

/** The telemetry store: DynamoDB (every account, local default) or Timestream (an account that still has LiveAnalytics; see the README). */
export interface TelemetryStore extends TelemetryWriter, TelemetryReader {}
