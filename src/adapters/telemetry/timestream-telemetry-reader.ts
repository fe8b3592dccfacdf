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
import type { TelemetryPage, TelemetryQuery, TelemetryReader, TelemetrySample } from '../../ports/telemetry-store.js';
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
}

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
