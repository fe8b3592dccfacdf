/**
 * TelemetryReader on Timestream for LiveAnalytics: the read half of the `timestream` store
 * (TimestreamTelemetryStore writes). Same semantics as the DynamoDB store: one metric of one
 * device in [from, to), ascending, `limit` per page, an opaque cursor. Timestream keeps a
 * reading's sequence only in the microseconds of its time (ts * 1000 + seq mod 1000, see the
 * writer), so `seq` in a sample is seq mod 1000, which is all the ordering needs.
 */
import { QueryCommand, type TimestreamQueryClient, type Row, type ColumnInfo } from '@aws-sdk/client-timestream-query';
import type { ReadingValue } from '../../domain/device.js';
import { UnavailableError, ValidationError } from '../../domain/errors.js';
import { BUCKET_MS, bucketStart, type RollupResolution, type TelemetryBucket } from '../../domain/telemetry-rollup.js';
import type { TelemetryBucketPage, TelemetryPage, TelemetryQuery, TelemetryReader, TelemetryRollupQuery, TelemetrySample } from '../../ports/telemetry-store.js';
import { decodeCursor, encodeCursor, validateQuery } from './dynamodb-telemetry-store.js';
import { DEVICE_DIMENSION, TELEMETRY_MEASURE_NAME } from './timestream-telemetry-store.js';

/** Where the telemetry lives. */
export interface TimestreamTelemetryReaderOptions {
  readonly databaseName: string;
  readonly tableName: string;
}

const THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;

/** Reads telemetry from Timestream with the Query API. */
export class TimestreamTelemetryReader implements TelemetryReader {
  constructor(
    private readonly client: TimestreamQueryClient,
    private readonly options: TimestreamTelemetryReaderOptions,
  ) {}

  async query(query: TelemetryQuery): Promise<TelemetryPage> {
    validateQuery(query);
    // Values are spliced into SQL: only names matching these patterns get that far.
    if (!THING_NAME.test(query.deviceId)) throw new ValidationError('deviceId is not a thing name', 'deviceId');
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const afterMicros = after ? BigInt(after.ts) * 1000n + BigInt(after.seq % 1000) : undefined;
    const sql =
      `SELECT to_nanoseconds(time) AS ns, "${query.metric}" AS value ` +
      `FROM "${this.options.databaseName}"."${this.options.tableName}" ` +
      `WHERE ${DEVICE_DIMENSION} = '${query.deviceId}' AND measure_name = '${TELEMETRY_MEASURE_NAME}' ` +
      `AND time >= from_milliseconds(${query.from}) AND time < from_milliseconds(${query.to}) ` +
      (afterMicros === undefined ? '' : `AND time > from_nanoseconds(${afterMicros * 1000n}) `) +
      `AND "${query.metric}" IS NOT NULL ORDER BY time ASC LIMIT ${query.limit}`;

    const items: TelemetrySample[] = [];
    let nextToken: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new QueryCommand({ QueryString: sql, NextToken: nextToken }));
      } catch (error) {
        // A metric never written is no column at all: an empty series, not an error.
        if ((error as { name?: string }).name === 'ValidationException' && /column/i.test((error as Error).message)) return { items: [] };
        throw new UnavailableError(`Timestream query failed: ${(error as Error).message}`, { cause: error });
      }
      for (const row of page.Rows ?? []) items.push(toSample(row, page.ColumnInfo ?? []));
      nextToken = page.NextToken;
    } while (nextToken && items.length < query.limit);

    const tail = items[items.length - 1];
    return items.length === query.limit && tail ? { items, nextCursor: encodeCursor(tail.ts, tail.seq) } : { items };
  }

  /**
   * Rollups by Timestream's own aggregation (bin() and GROUP BY): nothing is stored for them.
   * A redelivered reading is the same record (same time, sequence in its microseconds), so it
   * is counted once. min, max and avg exist for numeric metrics only: a metric of another type
   * is asked again for count and last.
   */
  async rollups(query: TelemetryRollupQuery): Promise<TelemetryBucketPage> {
    validateQuery(query);
    if (!THING_NAME.test(query.deviceId)) throw new ValidationError('deviceId is not a thing name', 'deviceId');
    const size = BUCKET_MS[query.resolution];
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor).ts;
    const first = Math.max(bucketStart(query.from, query.resolution), after === undefined ? 0 : after + size);
    if (first >= query.to) return { items: [] };
    const end = bucketStart(query.to - 1, query.resolution) + size;
    const m = `"${query.metric}"`;
    const sql = (numeric: boolean) =>
      `SELECT to_milliseconds(bin(time, ${BIN[query.resolution]})) AS bucket, count(${m}) AS n, ` +
      (numeric ? `min(${m}) AS lo, max(${m}) AS hi, avg(${m}) AS mean, ` : '') +
      `max_by(${m}, time) AS last ` +
      `FROM "${this.options.databaseName}"."${this.options.tableName}" ` +
      `WHERE ${DEVICE_DIMENSION} = '${query.deviceId}' AND measure_name = '${TELEMETRY_MEASURE_NAME}' ` +
      `AND time >= from_milliseconds(${first}) AND time < from_milliseconds(${end}) AND ${m} IS NOT NULL ` +
      `GROUP BY bin(time, ${BIN[query.resolution]}) ORDER BY bucket ASC LIMIT ${query.limit + 1}`;
    let rows: Array<{ row: Row; columns: ColumnInfo[] }>;
    try {
      rows = await this.rows(sql(true));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      rows = await this.rows(sql(false));
    }
    const buckets: TelemetryBucket[] = rows.map(({ row, columns }) => toBucket(row, columns));
    const items = buckets.slice(0, query.limit);
    const tail = items[items.length - 1];
    return buckets.length > query.limit && tail ? { items, nextCursor: encodeCursor(tail.start, 0) } : { items };
  }

  /** Every row of a query; a missing column is no rows, a type error a ValidationError (the caller asks again). */
  private async rows(sql: string): Promise<Array<{ row: Row; columns: ColumnInfo[] }>> {
    const out: Array<{ row: Row; columns: ColumnInfo[] }> = [];
    let nextToken: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new QueryCommand({ QueryString: sql, NextToken: nextToken }));
      } catch (error) {
        if ((error as { name?: string }).name === 'ValidationException') {
          if (/column/i.test((error as Error).message)) return [];
          throw new ValidationError(`Timestream cannot aggregate this metric: ${(error as Error).message}`, 'metric');
        }
        throw new UnavailableError(`Timestream query failed: ${(error as Error).message}`, { cause: error });
      }
      for (const row of page.Rows ?? []) out.push({ row, columns: page.ColumnInfo ?? [] });
      nextToken = page.NextToken;
    } while (nextToken);
    return out;
  }
}

/** Timestream's bin() width per resolution. */
const BIN: Readonly<Record<RollupResolution, string>> = { MINUTE: '1m', HOUR: '1h', DAY: '1d' };

function toSample(row: Row, columns: ColumnInfo[]): TelemetrySample {
  const [ns, value] = row.Data ?? [];
  const micros = BigInt(ns?.ScalarValue ?? '0') / 1000n;
  return {
    ts: Number(micros / 1000n),
    seq: Number(micros % 1000n),
    value: toValue(value?.ScalarValue ?? '', columns[1]?.Type?.ScalarType),
  };
}

function toValue(text: string, type: string | undefined): ReadingValue {
  if (type === 'DOUBLE' || type === 'BIGINT' || type === 'INTEGER') return Number(text);
  if (type === 'BOOLEAN') return text === 'true';
  return text;
}

function toBucket(row: Row, columns: ColumnInfo[]): TelemetryBucket {
  const cell = (name: string) => {
    const index = columns.findIndex((c) => c.Name === name);
    return index === -1 ? undefined : { text: row.Data?.[index]?.ScalarValue, type: columns[index]!.Type?.ScalarType };
  };
  const number = (name: string) => {
    const value = cell(name)?.text;
    return value === undefined ? undefined : Number(value);
  };
  const last = cell('last');
  const numeric = (name: string) => (['DOUBLE', 'BIGINT', 'INTEGER'].includes(cell(name)?.type ?? '') ? number(name) : undefined);
  const [lo, hi, mean] = [numeric('lo'), numeric('hi'), numeric('mean')];
  return {
    start: number('bucket') ?? 0,
    count: number('n') ?? 0,
    ...(lo !== undefined && { min: lo }),
    ...(hi !== undefined && { max: hi }),
    ...(mean !== undefined && { avg: mean }),
    last: toValue(last?.text ?? '', last?.type),
  };
}
