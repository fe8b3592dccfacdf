/**
 * The rollup items of the DynamoDB telemetry store, one per (device, metric, resolution, period):
 *
 *   MINUTE  pk `<device key>#MINUTE#<metric>`  sk = hour start (15 digits)   b = { "<minute 0-59>": tuple }, n
 *   HOUR    pk `<device key>#HOUR#<metric>`    sk = UTC day start            h00 .. h23 = tuple
 *   DAY     pk `<device key>#DAY#<metric>`     sk = start of its 7-day period d0 .. d6 = tuple
 *
 * tuple = [count, last, min, max, sum, numeric count] (min, max, sum only when some value was a
 * number; the numeric count only when it differs from count). Each item has its own
 * `expiresAt`, from the retention of its resolution, so retention differs per resolution.
 *
 * Exactness: a device-hour is always recomputed from *all* of its stored raw readings (each
 * (ts, seq) once), never incremented, and every write is conditional on the new count being
 * at least the stored one. Raw readings are only ever added, so a computation that read fewer
 * of them (a concurrent writer that read the raw items earlier) is refused, and an equal count
 * means the same readings: a redelivered reading can never count twice, and a late one lands
 * in its bucket the moment its device-hour is recomputed.
 *
 * Why per metric: a metric's item stays small whatever the device sends (up to 200 metrics of
 * 1 KB strings would not fit one item per device), and a chart reads only its metric.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ReadingValue } from '../../domain/device.js';
import { UnavailableError } from '../../domain/errors.js';
import { BUCKET_MS, mergeAggregates, type BucketAggregate, type RollupResolution } from '../../domain/telemetry-rollup.js';
import { isConditionalCheckFailed } from '../dynamodb/dynamo-errors.js';

const HOUR_MS = BUCKET_MS.HOUR;
const DAY_MS = BUCKET_MS.DAY;
const WEEK_MS = 7 * DAY_MS;
const pad15 = (n: number) => String(n).padStart(15, '0');

/** Days each resolution is kept. */
export interface RollupRetentionDays {
  readonly minute: number;
  readonly hour: number;
  readonly day: number;
}

/** What one item of a resolution spans, and the bucket index inside it. */
export const ROLLUP_PERIOD_MS: Readonly<Record<RollupResolution, number>> = Object.freeze({ MINUTE: HOUR_MS, HOUR: DAY_MS, DAY: WEEK_MS });

const periodStart = (ts: number, resolution: RollupResolution) => ts - (ts % ROLLUP_PERIOD_MS[resolution]);

/** The partition key of a device's rollups (by its chunk device key, see telemetryDeviceKey) of one metric at one resolution. */
export const rollupPartitionKey = (deviceKey: string, resolution: RollupResolution, metric: string): string => `${deviceKey}#${resolution}#${metric}`;

/** The stored form of an aggregate (see the file comment). */
export type RollupTuple = [number, ReadingValue, ...number[]];

/** An aggregate as stored. */
export function encodeTuple(a: BucketAggregate): RollupTuple {
  const tuple: RollupTuple = [a.count, a.last];
  if (a.numeric > 0) tuple.push(a.min!, a.max!, a.sum);
  if (a.numeric > 0 && a.numeric !== a.count) tuple.push(a.numeric);
  return tuple;
}

/**
 * A stored aggregate. Its last value is placed at `at` (the bucket's start): stored buckets
 * never overlap, so ordering by bucket start orders their last values correctly.
 */
export function decodeTuple(tuple: readonly unknown[], at: number): BucketAggregate {
  const [count, last, min, max, sum, numeric] = tuple as [number, ReadingValue, number?, number?, number?, number?];
  const n = min === undefined ? 0 : (numeric ?? count);
  return { count, numeric: n, ...(n > 0 && { min, max }), sum: sum ?? 0, last, lastTs: at, lastSeq: 0 };
}

/** The minute aggregates of one metric of one device in one hour. */
export interface DeviceHourRollup {
  /** The device as chunk items name it (telemetryDeviceKey). */
  readonly deviceKey: string;
  readonly metric: string;
  readonly hourStart: number;
  /** Minute index (0-59) → aggregate. */
  readonly minutes: ReadonlyMap<number, BucketAggregate>;
}

/** Reads and writes rollup items. */
export class DynamoDbRollupItems {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: RollupRetentionDays,
  ) {}

  /**
   * Writes one device-hour of one metric: its MINUTE item, its bucket in the day's HOUR item,
   * and the day's bucket in the DAY item (from the HOUR item as it is after the write).
   */
  async write(rollup: DeviceHourRollup): Promise<void> {
    const { deviceKey, metric, hourStart } = rollup;
    const minuteKeys = [...rollup.minutes.keys()].sort((a, b) => a - b);
    let hour: BucketAggregate | undefined;
    const bucketMap: Record<string, RollupTuple> = {};
    for (const minute of minuteKeys) {
      const aggregate = rollup.minutes.get(minute)!;
      bucketMap[String(minute)] = encodeTuple(aggregate);
      hour = hour ? mergeAggregates(hour, aggregate) : aggregate;
    }
    if (!hour) return;
    const expires = (end: number, days: number) => Math.floor(end / 1000) + days * 86_400;
    try {
      await this.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: rollupPartitionKey(deviceKey, 'MINUTE', metric),
            sk: pad15(hourStart),
            n: hour.count,
            b: bucketMap,
            expiresAt: expires(hourStart + HOUR_MS, this.retentionDays.minute),
          },
          ConditionExpression: 'attribute_not_exists(n) OR n <= :n',
          ExpressionAttributeValues: { ':n': hour.count },
        }),
      );
    } catch (error) {
      // A computation that saw more readings is already stored; so are its coarser buckets.
      if (isConditionalCheckFailed(error)) return;
      throw error;
    }
    const dayStart = hourStart - (hourStart % DAY_MS);
    const hourName = `h${String((hourStart - dayStart) / HOUR_MS).padStart(2, '0')}`;
    let dayItem: Record<string, unknown> | undefined;
    try {
      const result = await this.send<{ Attributes?: Record<string, unknown> }>(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: rollupPartitionKey(deviceKey, 'HOUR', metric), sk: pad15(dayStart) },
          UpdateExpression: 'SET #b = :t, expiresAt = :e',
          ConditionExpression: 'attribute_not_exists(#b) OR #b[0] <= :c',
          ExpressionAttributeNames: { '#b': hourName },
          ExpressionAttributeValues: { ':t': encodeTuple(hour), ':c': hour.count, ':e': expires(dayStart + DAY_MS, this.retentionDays.hour) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      dayItem = result.Attributes;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return;
      throw error;
    }
    let day: BucketAggregate | undefined;
    for (let h = 0; h < 24; h += 1) {
      const tuple = dayItem?.[`h${String(h).padStart(2, '0')}`];
      if (!Array.isArray(tuple)) continue;
      const aggregate = decodeTuple(tuple, dayStart + h * HOUR_MS);
      day = day ? mergeAggregates(day, aggregate) : aggregate;
    }
    if (!day) return;
    const weekStart = periodStart(dayStart, 'DAY');
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: rollupPartitionKey(deviceKey, 'DAY', metric), sk: pad15(weekStart) },
          UpdateExpression: 'SET #b = :t, expiresAt = :e',
          ConditionExpression: 'attribute_not_exists(#b) OR #b[0] <= :c',
          ExpressionAttributeNames: { '#b': `d${(dayStart - weekStart) / DAY_MS}` },
          ExpressionAttributeValues: { ':t': encodeTuple(day), ':c': day.count, ':e': expires(weekStart + WEEK_MS, this.retentionDays.day) },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /**
   * Stored buckets of one metric with start in [from, to), ascending, at most `max` of them
   * (the items are read in order and reading stops once `max` buckets are in hand).
   */
  async read(deviceKey: string, metric: string, resolution: RollupResolution, from: number, to: number, max: number): Promise<Array<[number, BucketAggregate]>> {
    const out: Array<[number, BucketAggregate]> = [];
    if (from >= to) return out;
    const size = BUCKET_MS[resolution];
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.send<{ Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> }>(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lower AND :upper',
          ExpressionAttributeValues: {
            ':pk': rollupPartitionKey(deviceKey, resolution, metric),
            ':lower': pad15(periodStart(from, resolution)),
            ':upper': pad15(periodStart(to - 1, resolution)),
          },
          ExclusiveStartKey: exclusiveStartKey,
          // Enough items for `max` buckets (and one more): a page of a long range reads no further.
          Limit: Math.ceil(max / (ROLLUP_PERIOD_MS[resolution] / size)) + 1,
        }),
      );
      for (const item of page.Items ?? []) {
        const start = Number(item.sk);
        const entries: Array<[number, unknown]> =
          resolution === 'MINUTE'
            ? Object.entries((item.b ?? {}) as Record<string, unknown>).map(([k, v]) => [start + Number(k) * size, v])
            : Object.entries(item)
                .filter(([k]) => /^[hd]\d+$/.test(k))
                .map(([k, v]) => [start + Number(k.slice(1)) * size, v]);
        entries.sort((a, b) => a[0] - b[0]);
        for (const [bucket, tuple] of entries) {
          if (bucket >= from && bucket < to && Array.isArray(tuple)) out.push([bucket, decodeTuple(tuple, bucket)]);
        }
        if (out.length >= max) return out.slice(0, max);
      }
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return out;
  }

  private async send<T>(command: { readonly input: unknown }): Promise<T> {
    try {
      return (await this.doc.send(command as never)) as T;
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw error;
      throw new UnavailableError(`telemetry rollups: ${(error as Error).message}`, { cause: error });
    }
  }
}
