import { TimestreamQueryClient } from '@aws-sdk/client-timestream-query';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../../src/adapters/telemetry/dynamodb-telemetry-store.js';
import { TimestreamTelemetryReader } from '../../../src/adapters/telemetry/timestream-telemetry-reader.js';
import { UnavailableError, ValidationError } from '../../../src/domain/errors.js';
import { startWireSink, type WireSink } from '../wire-sink.js';

let sink: WireSink;
let client: TimestreamQueryClient;
let reader: TimestreamTelemetryReader;
const TS = Date.parse('2026-11-26T12:00:00.000Z');
const columns = (type: string) => [
  { Name: 'ns', Type: { ScalarType: 'BIGINT' } },
  { Name: 'value', Type: { ScalarType: type } },
];
const row = (ts: number, seq: number, value: string) => ({ Data: [{ ScalarValue: String((BigInt(ts) * 1000n + BigInt(seq)) * 1000n) }, { ScalarValue: value }] });

beforeAll(async () => {
  sink = await startWireSink();
  client = new TimestreamQueryClient({ endpoint: sink.url, region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' }, maxAttempts: 1 });
  reader = new TimestreamTelemetryReader(client, { databaseName: 'iot', tableName: 'telemetry' });
});
afterAll(async () => {
  client.destroy();
  await sink.close();
});
afterEach(() => {
  sink.requests.length = 0;
});

describe('TimestreamTelemetryReader', () => {
  it('queries one metric of one device in [from, to), ascending, and follows NextToken up to the limit', async () => {
    // Prepare
    sink.respond = (_request, index) =>
      index === 0
        ? { status: 200, body: { QueryId: 'q', Rows: [row(TS, 1, '20.5')], ColumnInfo: columns('DOUBLE'), NextToken: 'more' } }
        : { status: 200, body: { QueryId: 'q', Rows: [row(TS + 5, 2, '21')], ColumnInfo: columns('DOUBLE') } };

    // Act
    const page = await reader.query({ deviceId: 'dev-1', metric: 'temperature', from: TS, to: TS + 60_000, limit: 2 });

    // Assess
    expect(page.items).toEqual([
      { ts: TS, seq: 1, value: 20.5 },
      { ts: TS + 5, seq: 2, value: 21 },
    ]);
    expect(page.nextCursor).toBe(encodeCursor(TS + 5, 2));
    expect(sink.requests[0]!.headers['x-amz-target']).toBe('Timestream_20181101.Query');
    expect(sink.requests[1]!.body.NextToken).toBe('more');
    const sql = String(sink.requests[0]!.body.QueryString);
    expect(sql).toContain(`FROM "iot"."telemetry"`);
    expect(sql).toContain(`device = 'dev-1' AND measure_name = 'telemetry'`);
    expect(sql).toContain(`time >= from_milliseconds(${TS}) AND time < from_milliseconds(${TS + 60_000})`);
    expect(sql).toMatch(/"temperature" IS NOT NULL ORDER BY time ASC LIMIT 2$/);
  });

  it('continues after the cursor and converts booleans', async () => {
    // Prepare
    sink.respond = () => ({ status: 200, body: { QueryId: 'q', Rows: [row(TS + 9, 3, 'true')], ColumnInfo: columns('BOOLEAN') } });

    // Act
    const page = await reader.query({ deviceId: 'dev-1', metric: 'door', from: TS, to: TS + 60_000, limit: 5, cursor: encodeCursor(TS + 5, 2) });

    // Assess
    expect(page).toEqual({ items: [{ ts: TS + 9, seq: 3, value: true }] });
    expect(String(sink.requests[0]!.body.QueryString)).toContain(`time > from_nanoseconds(${(BigInt(TS + 5) * 1000n + 2n) * 1000n})`);
  });

  it('answers an empty page for a metric that was never written', async () => {
    sink.respond = () => ({ status: 400, errorType: 'ValidationException', body: { message: "line 1:30: Column 'nope' does not exist" } });
    expect(await reader.query({ deviceId: 'dev-1', metric: 'nope', from: TS, to: TS + 1, limit: 5 })).toEqual({ items: [] });
  });

  it('refuses a device id that is not a thing name before any SQL is built', async () => {
    await expect(reader.query({ deviceId: "x' OR 1=1 --", metric: 't', from: TS, to: TS + 1, limit: 5 })).rejects.toBeInstanceOf(ValidationError);
    expect(sink.requests).toEqual([]);
  });

  it('maps an outage to UnavailableError', async () => {
    sink.respond = () => ({ status: 500, errorType: 'InternalServerException', body: { message: 'boom' } });
    await expect(reader.query({ deviceId: 'dev-1', metric: 't', from: TS, to: TS + 1, limit: 5 })).rejects.toBeInstanceOf(UnavailableError);
  });

  it('aggregates per bucket with bin(), one page of limit buckets, and asks again without min/max/avg for a metric that is not numeric', async () => {
    // Prepare: the numeric query is refused (a VARCHAR metric), the second answers count and last.
    const bucketColumns = [
      { Name: 'bucket', Type: { ScalarType: 'BIGINT' } },
      { Name: 'n', Type: { ScalarType: 'BIGINT' } },
      { Name: 'last', Type: { ScalarType: 'VARCHAR' } },
    ];
    sink.respond = (_request, index) =>
      index === 0
        ? { status: 400, errorType: 'ValidationException', body: { __type: 'com.amazonaws.timestream#ValidationException', message: 'Function avg not registered for varchar' } }
        : {
            status: 200,
            body: {
              QueryId: 'q',
              ColumnInfo: bucketColumns,
              Rows: [0, 1, 2].map((i) => ({ Data: [{ ScalarValue: String(TS + i * 3_600_000) }, { ScalarValue: String(i + 1) }, { ScalarValue: `mode${i}` }] })),
            },
          };

    // Act
    const page = await reader.rollups({ deviceId: 'dev-1', metric: 'mode', from: TS + 5, to: TS + 3 * 3_600_000, limit: 2, resolution: 'HOUR' });

    // Assess
    expect(page.items).toEqual([
      { start: TS, count: 1, last: 'mode0' },
      { start: TS + 3_600_000, count: 2, last: 'mode1' },
    ]);
    expect(page.nextCursor).toBe(encodeCursor(TS + 3_600_000, 0));
    const [numeric, plain] = sink.requests.map((r) => String(r.body.QueryString));
    expect(numeric).toContain('min("mode") AS lo, max("mode") AS hi, avg("mode") AS mean');
    expect(numeric).toContain(`time >= from_milliseconds(${TS}) AND time < from_milliseconds(${TS + 3 * 3_600_000})`);
    expect(numeric).toMatch(/GROUP BY bin\(time, 1h\) ORDER BY bucket ASC LIMIT 3$/);
    expect(plain).not.toContain('avg(');
    expect(plain).toContain('max_by("mode", time) AS last');
  });

  it('maps numeric buckets with min, max and avg', async () => {
    sink.respond = () => ({
      status: 200,
      body: {
        QueryId: 'q',
        ColumnInfo: ['bucket', 'n', 'lo', 'hi', 'mean', 'last'].map((Name, i) => ({ Name, Type: { ScalarType: i < 2 ? 'BIGINT' : 'DOUBLE' } })),
        Rows: [{ Data: [TS, 3, 1.5, 4.5, 3, 4.5].map((v) => ({ ScalarValue: String(v) })) }],
      },
    });
    const page = await reader.rollups({ deviceId: 'dev-1', metric: 't', from: TS, to: TS + 60_000, limit: 10, resolution: 'MINUTE' });
    expect(page).toEqual({ items: [{ start: TS, count: 3, min: 1.5, max: 4.5, avg: 3, last: 4.5 }] });
    expect(String(sink.requests[0]!.body.QueryString)).toContain('bin(time, 1m)');
  });
});
