import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, type DynamoDBDocumentClient as Doc } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../src/adapters/dynamodb/client.js';
import { TELEMETRY_TABLE } from '../../../src/contracts/tables.js';
import {
  DynamoDbTelemetryStore,
  telemetryGroup,
  telemetryGroupKey,
  telemetryPartitionKey,
  telemetryReadingName,
  telemetrySlotKey,
  telemetrySortKey,
} from '../../../src/adapters/telemetry/dynamodb-telemetry-store.js';
import { ValidationError } from '../../../src/domain/errors.js';
import { ensureTables, LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames, startDynalite, type LocalDynamo } from '../../../src/local/dynamodb/dynalite.js';
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
  it('keys an overflow reading by device, UTC day, time and sequence, and a slot item by device group and slot', () => {
    expect(telemetryPartitionKey('dev', T0)).toBe('dev#2026-11-25');
    expect(telemetrySortKey(T0, 42)).toBe(`00${T0}#0000000000000042`);
    expect(telemetryGroupKey(0x3ff)).toBe('#g03ff');
    expect(telemetrySlotKey(T0 - 9000)).toBe(`00${T0 - 9000}`);
    expect(telemetryReadingName('6f1c1a52-3a4b-4c5d-8e9f-0a1b2c3d4e5f', 36)).toBe('bxwaUjpLTF2OnwobLD1OXw.10');
    expect(telemetryReadingName('thing-1', 35)).toBe('~thing-1.z');
  });

  it('puts devices whose MD5 shares its top bits (one Kinesis shard) in one group', () => {
    const md5Top16 = (id: string) => createHash('md5').update(id).digest().readUInt16BE(0);
    for (const id of ['a', 'b', '6f1c1a52-3a4b-4c5d-8e9f-0a1b2c3d4e5f']) {
      expect(telemetryGroup(id, 10)).toBe(md5Top16(id) >> 6);
      expect(telemetryGroup(id, 3)).toBe(md5Top16(id) >> 13);
    }
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

  it('writes overflow readings in BatchWriteItem calls of at most 25 items and retries UnprocessedItems', async () => {
    // Prepare: a DynamoDB wire sink that leaves two items unprocessed once; slot items too small for any reading.
    const sink = await startWireSink();
    sink.respond = (request, index) => {
      const table = Object.keys(request.body.RequestItems as object)[0]!;
      const items = (request.body.RequestItems as Record<string, unknown[]>)[table]!;
      return { status: 200, body: index === 0 ? { UnprocessedItems: { [table]: items.slice(0, 2) } } : { UnprocessedItems: {} } };
    };
    const client = new DynamoDBClient({ endpoint: sink.url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const wired = new DynamoDbTelemetryStore(DynamoDBDocumentClient.from(client), 'T', { concurrency: 1, sleep: async () => {}, slotItemBytes: 0 });

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

describe('DynamoDbTelemetryStore slot items', () => {
  const table = () => localTableNames('tel-')[TELEMETRY_TABLE.id]!;
  const SLOT = 10_000;
  const all = async (s: DynamoDbTelemetryStore, deviceId: string, metric: string, from: number, to: number, limit = 1000) => {
    const items: Array<{ ts: number; seq: number; value: unknown }> = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await s.query({ deviceId, metric, from, to, limit, ...(cursor && { cursor }) });
      items.push(...page.items);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    return { items, pages };
  };

  it('writes one conditional UpdateItem per group and slot, holding every reading of the slot', async () => {
    // Prepare: two readings in one slot, one in the next.
    const sink = await startWireSink();
    const client = new DynamoDBClient({ endpoint: sink.url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const wired = new DynamoDbTelemetryStore(DynamoDBDocumentClient.from(client), 'T', { concurrency: 1 });
    const base = T0 - (T0 % SLOT);

    // Act
    await wired.write([point('thing-1', base + 1, 7, { t: 1 }), point('thing-1', base + 2, 8, { t: 2, on: true }), point('thing-1', base + SLOT, 9, { t: 3 })]);

    // Assess
    expect(sink.requests.map((r) => r.headers['x-amz-target'])).toEqual(['DynamoDB_20120810.UpdateItem', 'DynamoDB_20120810.UpdateItem']);
    const first = sink.requests[0]!.body;
    expect(first.Key).toEqual({ pk: { S: telemetryGroupKey(telemetryGroup('thing-1')) }, sk: { S: telemetrySlotKey(base) } });
    expect(first.UpdateExpression).toBe('SET #r0 = :r0, #r1 = :r1, expiresAt = :exp ADD n :added');
    expect(first.ConditionExpression).toBe('attribute_not_exists(n) OR n <= :room');
    expect(first.ExpressionAttributeNames).toEqual({ '#r0': '~thing-1.7', '#r1': '~thing-1.8' });
    expect((first.ExpressionAttributeValues as Record<string, unknown>)[':r1']).toEqual({ M: { _t: { N: '2' }, t: { N: '2' }, on: { BOOL: true } } });
    expect((first.ExpressionAttributeValues as Record<string, unknown>)[':exp']).toEqual({ N: String(Math.floor((base + SLOT) / 1000) + 30 * 86_400) });
    client.destroy();
    await sink.close();
  });

  it('keeps an update within the 4 KB expression limit when a slot gets hundreds of tiny readings', async () => {
    // Prepare
    const sink = await startWireSink();
    sink.respond = () => ({ status: 200, body: { UnprocessedItems: {} } });
    const client = new DynamoDBClient({ endpoint: sink.url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const wired = new DynamoDbTelemetryStore(DynamoDBDocumentClient.from(client), 'T', { concurrency: 1 });

    // Act
    await wired.write(Array.from({ length: 400 }, (_, i) => point('a', T0 - (T0 % SLOT) + i, i, { b: true })));

    // Assess: one update of at most 200 readings, the rest as overflow items.
    const update = sink.requests.find((r) => String(r.headers['x-amz-target']).endsWith('.UpdateItem'))!;
    expect((update.body.UpdateExpression as string).length).toBeLessThanOrEqual(4096);
    expect(Object.keys(update.body.ExpressionAttributeNames as object)).toHaveLength(200);
    const puts = sink.requests.filter((r) => String(r.headers['x-amz-target']).endsWith('.BatchWriteItem'));
    expect(puts.reduce((n, r) => n + (r.body.RequestItems as Record<string, unknown[]>).T!.length, 0)).toBe(200);
    client.destroy();
    await sink.close();
  });

  it('moves the readings of a refused (full) slot update to overflow items and retries a throttled update', async () => {
    // Prepare: the first update is throttled, the second refused by its size condition.
    const sink = await startWireSink();
    sink.respond = (_request, index) =>
      index === 0
        ? { status: 400, errorType: 'ThrottlingException', body: { __type: 'com.amazon.coral.availability#ThrottlingException', message: 'slow down' } }
        : index === 1
          ? { status: 400, errorType: 'ConditionalCheckFailedException', body: { __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException', message: 'full' } }
          : { status: 200, body: { UnprocessedItems: {} } };
    const client = new DynamoDBClient({ endpoint: sink.url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const wired = new DynamoDbTelemetryStore(DynamoDBDocumentClient.from(client), 'T', { concurrency: 1, sleep: async () => {} });

    // Act
    const result = await wired.write([point('thing-1', T0, 1, { t: 1 }), point('thing-1', T0 + 1, 2, { t: 2 })]);

    // Assess
    expect(result).toEqual({ rejected: [] });
    expect(sink.requests.map((r) => String(r.headers['x-amz-target']).split('.')[1])).toEqual(['UpdateItem', 'UpdateItem', 'BatchWriteItem']);
    const puts = (sink.requests[2]!.body.RequestItems as Record<string, Array<{ PutRequest: { Item: Record<string, { S?: string }> } }>>).T!;
    expect(puts.map((p) => [p.PutRequest.Item.pk!.S, p.PutRequest.Item.sk!.S])).toEqual([
      [telemetryPartitionKey('thing-1', T0), telemetrySortKey(T0, 1)],
      [telemetryPartitionKey('thing-1', T0 + 1), telemetrySortKey(T0 + 1, 2)],
    ]);
    client.destroy();
    await sink.close();
  });

  it('stores a reading redelivered in later writes once, also once its slot item is full and the copy lands in overflow', async () => {
    // Prepare: slot items with room for a few readings only.
    const small = new DynamoDbTelemetryStore(doc, table(), { slotItemBytes: 200 });
    const id = 'redelivered';
    await small.write([point(id, T0, 1, { t: 1 })]);
    for (let i = 0; i < 8; i += 1) await small.write([point(id, T0 + 10 + i, 10 + i, { t: 10 + i })]);

    // Act: the first reading again, twice, now that its slot item is full.
    await small.write([point(id, T0, 1, { t: 1 })]);
    await small.write([point(id, T0, 1, { t: 1 }), point(id, T0 + 10, 10, { t: 10 })]);

    // Assess: a copy exists in overflow, yet each (ts, seq) is read and counted once.
    const copy = await doc.send(new GetCommand({ TableName: table(), Key: { pk: telemetryPartitionKey(id, T0), sk: telemetrySortKey(T0, 1) } }));
    expect(copy.Item).toBeDefined();
    const { items } = await all(small, id, 't', T0, T0 + SLOT);
    expect(items.map((i) => i.seq)).toEqual([1, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect(await small.countReadings(id, T0, T0 + SLOT)).toBe(9);
  });

  it('returns exactly the readings in [from, to) when the range starts and ends inside slots, across slots and days', async () => {
    // Prepare: readings just around both ends of a range that crosses midnight (T0 + 1 s).
    const id = 'boundaries';
    const from = T0 - 3_333;
    const to = T0 + 25_555;
    const times = [from - SLOT, from - 1, from, from + 1, T0 + 999, T0 + 1000, to - 1, to, to + SLOT];
    await store.write(times.map((ts, i) => point(id, ts, i, { t: i })));

    // Act
    const { items } = await all(store, id, 't', from, to);

    // Assess
    expect(items.map((i) => i.ts)).toEqual([from, from + 1, T0 + 999, T0 + 1000, to - 1]);
  });

  it('returns readings in ascending (ts, seq) order whatever order and batches they were written in', async () => {
    // Prepare: 60 readings over 6 slots, some sharing a timestamp, written shuffled in three batches.
    const id = 'ordering';
    const readings = Array.from({ length: 60 }, (_, i) => point(id, T0 + Math.floor(i / 2) * 2000, 1000 - i, { t: i }));
    const shuffled = [...readings].sort((a, b) => ((a.seq * 7919) % 61) - ((b.seq * 7919) % 61));
    for (let i = 0; i < 3; i += 1) await store.write(shuffled.slice(i * 20, i * 20 + 20));

    // Act
    const { items } = await all(store, id, 't', T0, T0 + 60 * SLOT);

    // Assess
    const expected = [...readings].sort((a, b) => a.ts - b.ts || a.seq - b.seq).map((r) => [r.ts, r.seq]);
    expect(items.map((i) => [i.ts, i.seq])).toEqual(expected);
  });

  it('pages through more slot items than one Query page holds, merging overflow readings, without gaps or repeats', async () => {
    // Prepare: 300 readings, one per slot (300 slot items), every third one too large for a slot item.
    const small = new DynamoDbTelemetryStore(doc, table(), { slotItemBytes: 200 });
    const id = 'paging';
    const readings = Array.from({ length: 300 }, (_, i) => point(id, T0 + i * SLOT + 5, i, { t: i, ...(i % 3 === 0 && { note: 'x'.repeat(300) }) }));
    await small.write(readings);

    // Act
    const paged = await all(small, id, 't', T0, T0 + 300 * SLOT, 7);

    // Assess
    expect(paged.items.map((i) => i.seq)).toEqual(readings.map((r) => r.seq));
    expect(paged.pages).toBe(Math.ceil(300 / 7) + (300 % 7 === 0 ? 1 : 0));
    expect((await all(small, id, 'note', T0, T0 + 300 * SLOT)).items).toHaveLength(100);
  });

  it('stores readings of 100 metrics, each metric queryable, a reading too large for a slot item in overflow', async () => {
    // Prepare: one small reading with 100 metrics of every type, one with 100 strings of 1,024 characters (~100 KB).
    const id = 'many-metrics';
    const metrics = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`m${i}`, i % 3 === 0 ? i : i % 3 === 1 ? i % 2 === 0 : `s${i}`]));
    const large = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`m${i}`, String(i % 10).repeat(1024)]));

    // Act
    await store.write([point(id, T0, 1, metrics), point(id, T0 + 1, 2, large)]);

    // Assess
    for (const [name, value] of Object.entries(metrics)) {
      const { items } = await all(store, id, name, T0, T0 + 2);
      expect(items).toEqual([{ ts: T0, seq: 1, value }, { ts: T0 + 1, seq: 2, value: large[name] }]);
    }
    const overflow = await doc.send(new GetCommand({ TableName: table(), Key: { pk: telemetryPartitionKey(id, T0 + 1), sk: telemetrySortKey(T0 + 1, 2) } }));
    expect(overflow.Item?.m).toEqual(large);
  });

  it('keeps a slot item under its size bound when a device sends 100 messages/s for a whole slot, the rest in overflow', async () => {
    // Prepare: 1,000 readings in one 10 s slot, one batch.
    const id = 'full-slot';
    const base = T0 - (T0 % SLOT) + SLOT;
    const readings = Array.from({ length: 1000 }, (_, i) => point(id, base + i * 10, i, { temperature: 20 + i / 100, humidity: 40, door: i % 2 === 0 }));

    // Act
    await store.write(readings);

    // Assess: the slot item holds the oldest readings within 4 KB; every reading is read back once, in order.
    const slot = (await doc.send(new GetCommand({ TableName: table(), Key: { pk: telemetryGroupKey(telemetryGroup(id)), sk: telemetrySlotKey(base) } }))).Item!;
    const inSlot = Object.keys(slot).filter((k) => k.startsWith('~full-slot.'));
    expect(inSlot.length).toBeGreaterThan(20);
    expect(inSlot.length).toBeLessThan(1000);
    expect(slot.n).toBeLessThanOrEqual(4096);
    expect(Buffer.byteLength(JSON.stringify(slot))).toBeLessThan(4096 * 1.5);
    const { items } = await all(store, id, 'temperature', base, base + SLOT);
    expect(items.map((i) => i.seq)).toEqual(readings.map((r) => r.seq));
    expect(await store.countReadings(id, base, base + SLOT - 1)).toBe(1000);
  });

  it('finds the few readings of a rare reporter among hundreds of slot items of a busy device in its group', async () => {
    // Prepare: two groups only; a busy device fills 700 slots, a rare one reports three times.
    const shared = new DynamoDbTelemetryStore(doc, table(), { groupBits: 1 });
    const rare = 'rare';
    const busy = ['busy-0', 'busy-1', 'busy-2', 'busy-3', 'busy-4', 'busy-5'].find((id) => telemetryGroup(id, 1) === telemetryGroup(rare, 1))!;
    expect(busy).toBeDefined();
    const base = T0 + 10 * SLOT - (T0 % SLOT);
    await shared.write(Array.from({ length: 700 }, (_, i) => point(busy, base + i * SLOT, i, { t: i })));
    await shared.write([point(rare, base + 5, 1, { t: 1 }), point(rare, base + 350 * SLOT, 2, { t: 2 }), point(rare, base + 699 * SLOT + 1, 3, { t: 3 })]);

    // Act
    const paged = await all(shared, rare, 't', base, base + 700 * SLOT, 2);

    // Assess
    expect(paged.items.map((i) => i.seq)).toEqual([1, 2, 3]);
    expect(paged.pages).toBe(2);
  });

  it('reads only its own readings from a slot item shared with other devices, even one whose id extends its own', async () => {
    // Prepare: two groups only, so the devices share slot items.
    const shared = new DynamoDbTelemetryStore(doc, table(), { groupBits: 1 });
    const ids = ['x', 'x.1', 'x.1.2', 'y', 'z', 'x.2'].filter((id) => telemetryGroup(id, 1) === telemetryGroup('x', 1));
    expect(ids.length).toBeGreaterThanOrEqual(2);
    await shared.write(ids.flatMap((id, d) => [point(id, T0, 1, { t: d }), point(id, T0 + 1, 2, { t: d })]));

    // Act / Assess
    for (const [d, id] of ids.entries()) {
      expect((await all(shared, id, 't', T0, T0 + 2)).items).toEqual([{ ts: T0, seq: 1, value: d }, { ts: T0 + 1, seq: 2, value: d }]);
    }
  });
});
