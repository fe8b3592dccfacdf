import { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TimestreamTelemetryStore } from '../../../src/adapters/telemetry/timestream-telemetry-store.js';
import { UnavailableError } from '../../../src/domain/errors.js';
import type { TelemetryPoint } from '../../../src/ports/telemetry-store.js';
import { startWireSink, type WireSink } from '../wire-sink.js';

let sink: WireSink;
let client: TimestreamWriteClient;
const sleeps: number[] = [];
const TS = Date.parse('2026-11-26T12:00:00.000Z');
const ingested = (n: number) => ({ status: 200, body: { RecordsIngested: { Total: n, MemoryStore: n, MagneticStore: 0 } } });

beforeAll(async () => {
  sink = await startWireSink();
  // maxAttempts 1: the adapter's own retry is what is under test.
  client = new TimestreamWriteClient({ endpoint: sink.url, region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' }, maxAttempts: 1 });
});
afterAll(async () => {
  client.destroy();
  await sink.close();
});
afterEach(() => {
  sink.requests.length = 0;
  sleeps.length = 0;
  sink.respond = (request) => ingested((request.body.Records as unknown[]).length);
});

const store = (maxAttempts = 4) =>
  new TimestreamTelemetryStore(client, {
    databaseName: 'iot',
    tableName: 'telemetry',
    maxAttempts,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
const points = (deviceId: string, n: number, from = 0): TelemetryPoint[] =>
  Array.from({ length: n }, (_, i) => ({ deviceId, ts: TS + i, seq: from + i, metrics: { t: 20.5, on: true, mode: 'eco' } }));

describe('TimestreamTelemetryStore', () => {
  it('sends multi-measure records, at most 100 per WriteRecords, with common attributes', async () => {
    // Prepare: one chatty device (120 readings) and 130 devices with one reading each.
    sink.respond = (request) => ingested((request.body.Records as unknown[]).length);
    const input = [...points('chatty', 120), ...Array.from({ length: 130 }, (_, i) => points(`d${i}`, 1, 7)[0]!)];

    // Act
    const result = await store().write(input);

    // Assess
    expect(result.rejected).toEqual([]);
    expect(sink.requests.every((r) => r.method === 'POST' && r.url === '/')).toBe(true);
    expect(sink.requests.every((r) => r.headers['x-amz-target'] === 'Timestream_20181101.WriteRecords')).toBe(true);
    expect(sink.requests.every((r) => String(r.headers['content-type']).startsWith('application/x-amz-json-1.0'))).toBe(true);
    const sizes = sink.requests.map((r) => (r.body.Records as unknown[]).length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(250);
    expect(sizes.sort((a, b) => a - b)).toEqual([50, 100, 100]);
    const dedicated = sink.requests.find((r) => (r.body.CommonAttributes as { Dimensions?: unknown }).Dimensions)!;
    expect(dedicated.body).toMatchObject({
      DatabaseName: 'iot',
      TableName: 'telemetry',
      CommonAttributes: {
        MeasureName: 'telemetry',
        MeasureValueType: 'MULTI',
        TimeUnit: 'MICROSECONDS',
        Dimensions: [{ Name: 'device', Value: 'chatty', DimensionValueType: 'VARCHAR' }],
      },
    });
    expect((dedicated.body.Records as unknown[])[3]).toEqual({
      Time: String((TS + 3) * 1000 + 3),
      Version: 4,
      MeasureValues: [
        { Name: 't', Value: '20.5', Type: 'DOUBLE' },
        { Name: 'on', Value: 'true', Type: 'BOOLEAN' },
        { Name: 'mode', Value: 'eco', Type: 'VARCHAR' },
      ],
    });
    const pooled = sink.requests.filter((r) => r !== dedicated).flatMap((r) => r.body.Records as Array<{ Dimensions?: unknown }>);
    expect(pooled.every((record) => Array.isArray(record.Dimensions) && record.Dimensions.length === 1)).toBe(true);
  });

  it('reports rejected records one by one and keeps the rest of the request', async () => {
    // Prepare
    sink.respond = () => ({
      status: 400,
      errorType: 'RejectedRecordsException',
      body: {
        message: 'One or more records have been rejected.',
        RejectedRecords: [
          { RecordIndex: 1, Reason: 'Measure t has type VARCHAR; expected DOUBLE.' },
          { RecordIndex: 3, Reason: 'A record with a higher version exists.', ExistingVersion: 9 },
        ],
      },
    });
    const input = points('dev', 5);

    // Act
    const result = await store().write(input);

    // Assess
    expect(sink.requests).toHaveLength(1);
    expect(result.rejected).toEqual([
      { point: input[1], reason: 'Timestream rejected the record: Measure t has type VARCHAR; expected DOUBLE.' },
      { point: input[3], reason: 'Timestream rejected the record: A record with a higher version exists. (existing version 9)' },
    ]);
  });

  it('retries a throttled request with growing backoff until it is accepted', async () => {
    // Prepare
    sink.respond = (request, index) =>
      index < 2 ? { status: 400, errorType: 'ThrottlingException', body: { message: 'slow down' } } : ingested((request.body.Records as unknown[]).length);

    // Act
    const result = await store().write(points('dev', 3));

    // Assess
    expect(result.rejected).toEqual([]);
    expect(sink.requests).toHaveLength(3);
    expect(sink.requests[2]!.body).toEqual(sink.requests[0]!.body);
    expect(sleeps).toHaveLength(2);
  });

  it('throws UnavailableError when throttling outlasts its attempts', async () => {
    // Prepare
    sink.respond = () => ({ status: 400, errorType: 'ThrottlingException', body: { message: 'slow down' } });

    // Act
    const act = store(3).write(points('dev', 1));

    // Assess
    await expect(act).rejects.toBeInstanceOf(UnavailableError);
    expect(sink.requests).toHaveLength(3);
  });
});
