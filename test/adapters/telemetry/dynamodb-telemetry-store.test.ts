import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, type DynamoDBDocumentClient as Doc } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../src/adapters/dynamodb/client.js';
import { TELEMETRY_TABLE } from '../../../src/adapters/dynamodb/tables.js';
import { DynamoDbTelemetryStore, telemetryPartitionKey, telemetrySortKey } from '../../../src/adapters/telemetry/dynamodb-telemetry-store.js';
import { ValidationError } from '../../../src/domain/errors.js';
import { ensureTables, LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames, startDynalite, type LocalDynamo } from '../../../src/local/dynalite.js';
import type { TelemetryPoint } from '../../../src/ports/telemetry-store.js';
import { startWireSink } from '../wire-sink.js';

let dynamo: LocalDynamo;
let doc: Doc;
let store: DynamoDbTelemetryStore;
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-25T23:59:59.000Z');

beforeAll(async () => {
  dynamo = await startDynalite();
  const names = localTableNames('tel-');
  await ensureTables(dynamo.endpoint, names, [TELEMETRY_TABLE]);
  doc = createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  store = new DynamoDbTelemetryStore(doc, names[TELEMETRY_TABLE.id]!, { retentionDays: 7 });
});
afterAll(async () => {
  doc.destroy();
  await dynamo.stop();
});

const point = (deviceId: string, ts: number, seq: number, metrics: TelemetryPoint['metrics']): TelemetryPoint => ({ deviceId, ts, seq, metrics });

describe('DynamoDbTelemetryStore', () => {
  it('keys a reading by device, UTC day, time and sequence', () => {
    expect(telemetryPartitionKey('dev', T0)).toBe('dev#2026-11-25');
    expect(telemetrySortKey(T0, 42)).toBe(`00${T0}#0000000000000042`);
  });

  it('returns one metric of one device in ascending time order across day buckets, page by page', async () => {
    // Prepare: readings on both sides of midnight, another metric and another device in between.
    await store.write([
      point('a', T0 + 2000, 3, { t: 3 }),
      point('a', T0, 1, { t: 1 }),
      point('a', T0 + 1000, 2, { hum: 50 }),
      point('a', T0 + 2000, 4, { t: 4 }),
      point('b', T0 + 500, 1, { t: 99 }),
      point('a', T0 + DAY, 5, { t: 5, mode: 'eco' }),
    ]);
    const query = { deviceId: 'a', metric: 't', from: T0, to: T0 + 2 * DAY, limit: 2 };

    // Act
    const first = await store.query(query);
    const second = await store.query({ ...query, cursor: first.nextCursor });
    const third = await store.query({ ...query, cursor: second.nextCursor });

    // Assess
    expect(first.items).toEqual([
      { ts: T0, seq: 1, value: 1 },
      { ts: T0 + 2000, seq: 3, value: 3 },
    ]);
    expect(second.items).toEqual([
      { ts: T0 + 2000, seq: 4, value: 4 },
      { ts: T0 + DAY, seq: 5, value: 5 },
    ]);
    expect(third).toEqual({ items: [] });
  });

  it('stores a reading written twice once, the later write winning', async () => {
    // Prepare
    await store.write([point('dup', T0, 1, { t: 1 })]);

    // Act
    await store.write([point('dup', T0, 1, { t: 1 }), point('dup', T0, 1, { t: 1 })]);

    // Assess
    expect((await store.query({ deviceId: 'dup', metric: 't', from: T0, to: T0 + 1, limit: 10 })).items).toEqual([{ ts: T0, seq: 1, value: 1 }]);
  });

  it('treats the range end as exclusive', async () => {
    await store.write([point('edge', T0, 1, { t: 1 }), point('edge', T0 + 10, 2, { t: 2 })]);
    expect((await store.query({ deviceId: 'edge', metric: 't', from: T0, to: T0 + 10, limit: 10 })).items.map((i) => i.seq)).toEqual([1]);
  });

  it.each([
    ['an empty range', { from: T0, to: T0 }],
    ['a zero limit', { limit: 0 }],
    ['a bad metric name', { metric: 'a b' }],
    ['a forged cursor', { cursor: 'bm90IGEgY3Vyc29y' }],
  ])('refuses %s with a ValidationError', async (_name, overrides) => {
    const act = store.query({ deviceId: 'a', metric: 't', from: T0, to: T0 + 1000, limit: 10, ...overrides });
    await expect(act).rejects.toBeInstanceOf(ValidationError);
  });

  it('writes BatchWriteItem calls of at most 25 items and retries UnprocessedItems', async () => {
    // Prepare: a DynamoDB wire sink that leaves two items unprocessed once.
    const sink = await startWireSink();
    sink.respond = (request, index) => {
      const table = Object.keys(request.body.RequestItems as object)[0]!;
      const items = (request.body.RequestItems as Record<string, unknown[]>)[table]!;
      return { status: 200, body: index === 0 ? { UnprocessedItems: { [table]: items.slice(0, 2) } } : { UnprocessedItems: {} } };
    };
    const client = new DynamoDBClient({ endpoint: sink.url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const wired = new DynamoDbTelemetryStore(DynamoDBDocumentClient.from(client), 'T', { concurrency: 1, sleep: async () => {} });

    // Act
    await wired.write(Array.from({ length: 30 }, (_, i) => point('w', T0 + i, i, { t: i })));

    // Assess
    const counts = sink.requests.map((r) => (r.body.RequestItems as Record<string, unknown[]>).T!.length);
    expect(counts).toEqual([25, 2, 5]);
    expect(sink.requests.every((r) => r.headers['x-amz-target'] === 'DynamoDB_20120810.BatchWriteItem')).toBe(true);
    client.destroy();
    await sink.close();
  });
});
