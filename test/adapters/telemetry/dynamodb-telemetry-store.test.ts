import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { TELEMETRY_TABLE } from '../../../src/contracts/tables.js';
import {
  DynamoDbTelemetryStore,
  telemetryGroup,
  telemetryGroupKey,
  telemetryPartitionKey,
  telemetryChunkKey,
  telemetryReadingName,
  telemetrySortKey,
  CHUNK_SPAN_MS,
} from '../../../src/adapters/telemetry/dynamodb-telemetry-store.js';
import { ValidationError } from '../../../src/domain/errors.js';
import { LOCAL_CREDENTIALS, localTableNames } from '../../../src/local/dynamodb/dynalite.js';
import type { TelemetryPoint } from '../../../src/ports/telemetry-store.js';
import { startWireSink } from '../wire-sink.js';
import { useLocalDynamo } from '../../support/local-dynamo.js';

const dynamo = useLocalDynamo({ tables: [TELEMETRY_TABLE], prefix: 'tel-' });
let store: DynamoDbTelemetryStore;
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-25T23:59:59.000Z');

beforeAll(() => {
  store = new DynamoDbTelemetryStore(dynamo.doc, dynamo.table(TELEMETRY_TABLE), { retentionDays: 7 });
});

const point = (deviceId: string, ts: number, seq: number, metrics: TelemetryPoint['metrics']): TelemetryPoint => ({ deviceId, ts, seq, metrics });

describe('DynamoDbTelemetryStore', () => {
  it('keys a first-layout reading by device, UTC day, time and sequence, and a chunk item by device group and first reading', () => {
    expect(telemetryPartitionKey('dev', T0)).toBe('dev#2026-11-25');
    expect(telemetrySortKey(T0, 42)).toBe(`00${T0}#0000000000000042`);
    expect(telemetryGroupKey(0x3ff)).toBe('#g03ff');
    expect(telemetryChunkKey(T0 - 9000)).toBe(`00${T0 - 9000}`);
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

  it('writes chunk items in BatchWriteItem calls of at most 25 items and retries UnprocessedItems', async () => {
    // Prepare: a DynamoDB wire sink that leaves two items unprocessed once; chunks too small for two readings.
    const sink = await startWireSink();
    sink.respond = (request, index) => {
      const table = Object.keys(request.body.RequestItems as object)[0]!;
      const items = (request.body.RequestItems as Record<string, unknown[]>)[table]!;
      return { status: 200, body: index === 0 ? { UnprocessedItems: { [table]: items.slice(0, 2) } } : { UnprocessedItems: {} } };
    };
    const client = new DynamoDBClient({ endpoint: sink.url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const wired = new DynamoDbTelemetryStore(DynamoDBDocumentClient.from(client), 'T', { concurrency: 1, sleep: async () => {}, chunkBytes: 0, rollups: false });

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

describe('DynamoDbTelemetryStore chunk items', () => {
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
  const chunksOf = async (deviceId: string, groupBits = 10) =>
    (
      await dynamo.doc.send(
        new QueryCommand({ TableName: table(), KeyConditionExpression: 'pk = :pk AND sk > :lo', ExpressionAttributeValues: { ':pk': telemetryGroupKey(telemetryGroup(deviceId, groupBits)), ':lo': '0' } }),
      )
    ).Items!.filter((item) => Object.keys(item).some((k) => k.startsWith(`~${deviceId}.`)));

  it('writes a write\'s readings of a group as one new item, never an update, keyed by its first reading and its content', async () => {
    // Prepare: three readings of one device, one of them 10 s later.
    const sink = await startWireSink();
    sink.respond = () => ({ status: 200, body: { UnprocessedItems: {} } });
    const client = new DynamoDBClient({ endpoint: sink.url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const wired = new DynamoDbTelemetryStore(DynamoDBDocumentClient.from(client), 'T', { concurrency: 1, rollups: false, now: () => T0 + 60_000 });
    const base = T0 - (T0 % SLOT);
    const readings = [point('thing-1', base + 2, 8, { t: 2, on: true }), point('thing-1', base + 1, 7, { t: 1 }), point('thing-1', base + SLOT, 9, { t: 3 })];

    // Act
    await wired.write(readings);
    await wired.write(readings);

    // Assess: one PutRequest per write, the same key and content both times (a retried batch rewrites itself).
    expect(sink.requests.map((r) => r.headers['x-amz-target'])).toEqual(['DynamoDB_20120810.BatchWriteItem', 'DynamoDB_20120810.BatchWriteItem']);
    const [first, second] = sink.requests.map((r) => (r.body.RequestItems as Record<string, Array<{ PutRequest: { Item: Record<string, unknown> } }>>).T!);
    expect(first).toHaveLength(1);
    const item = first![0]!.PutRequest.Item;
    expect(item.pk).toEqual({ S: telemetryGroupKey(telemetryGroup('thing-1')) });
    expect((item.sk as { S: string }).S).toMatch(new RegExp(`^${telemetryChunkKey(base + 1)}#[A-Za-z0-9_-]{16}$`));
    expect(item['~thing-1.8']).toEqual({ M: { _t: { N: '1' }, t: { N: '2' }, on: { BOOL: true } } });
    expect(item['~thing-1.9']).toEqual({ M: { _t: { N: String(SLOT - 1) }, t: { N: '3' } } });
    expect(item.expiresAt).toEqual({ N: String(Math.floor((base + SLOT) / 1000) + 30 * 86_400) });
    expect(second).toEqual(first);
    client.destroy();
    await sink.close();
  });

  it('starts a new chunk when the next reading is CHUNK_SPAN_MS after the first or would pass chunkBytes', async () => {
    // Prepare
    const id = 'spans';
    const small = new DynamoDbTelemetryStore(dynamo.doc, table(), { chunkBytes: 400, rollups: false });
    const readings = [
      ...Array.from({ length: 12 }, (_, i) => point(id, T0 + i, i, { t: i, note: 'n'.repeat(40) })),
      point(id, T0 + CHUNK_SPAN_MS + 5, 100, { t: 100 }),
    ];

    // Act
    await small.write(readings);

    // Assess: every chunk within its span and size; each reading read back once.
    const chunks = await chunksOf(id);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const chunk of chunks) {
      const base = Number(String(chunk.sk).slice(0, 15));
      const times = Object.entries(chunk).filter(([k]) => k.startsWith(`~${id}.`)).map(([, v]) => base + (v as { _t: number })._t);
      expect(Math.max(...times) - base).toBeLessThan(CHUNK_SPAN_MS);
      expect(Buffer.byteLength(JSON.stringify(chunk))).toBeLessThan(400 * 1.5);
    }
    expect((await all(small, id, 't', T0, T0 + 2 * CHUNK_SPAN_MS)).items.map((i) => i.seq)).toEqual(readings.map((r) => r.seq));
  });

  it('retries a throttled chunk write', async () => {
    // Prepare
    const sink = await startWireSink();
    sink.respond = (_request, index) =>
      index === 0
        ? { status: 400, errorType: 'ThrottlingException', body: { __type: 'com.amazon.coral.availability#ThrottlingException', message: 'slow down' } }
        : { status: 200, body: { UnprocessedItems: {} } };
    const client = new DynamoDBClient({ endpoint: sink.url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const wired = new DynamoDbTelemetryStore(DynamoDBDocumentClient.from(client), 'T', { concurrency: 1, sleep: async () => {}, rollups: false });

    // Act
    const result = await wired.write([point('thing-1', T0, 1, { t: 1 }), point('thing-1', T0 + 1, 2, { t: 2 })]);

    // Assess
    expect(result).toEqual({ rejected: [] });
    expect(sink.requests).toHaveLength(2);
    expect(sink.requests[1]!.body).toEqual(sink.requests[0]!.body);
    client.destroy();
    await sink.close();
  });

  it('reads a reading redelivered in later writes once, the copy of the latest write winning', async () => {
    // Prepare
    let now = T0 + 60_000;
    const clocked = new DynamoDbTelemetryStore(dynamo.doc, table(), { now: () => now });
    const id = 'redelivered';
    await clocked.write([point(id, T0, 1, { t: 1 }), point(id, T0 + 10, 10, { t: 10 })]);

    // Act: the first reading again, twice, in other batches; the last copy carries another value.
    now += 1000;
    await clocked.write([point(id, T0, 1, { t: 1 }), point(id, T0 + 20, 20, { t: 20 })]);
    now += 1000;
    await clocked.write([point(id, T0, 1, { t: 111 })]);

    // Assess
    const { items } = await all(clocked, id, 't', T0, T0 + SLOT);
    expect(items).toEqual([{ ts: T0, seq: 1, value: 111 }, { ts: T0 + 10, seq: 10, value: 10 }, { ts: T0 + 20, seq: 20, value: 20 }]);
    expect(await clocked.countReadings(id, T0, T0 + SLOT)).toBe(3);
  });

  it('still reads items of the two earlier layouts (slot items and one item per reading)', async () => {
    // Prepare: a slot item and a first-layout item, as the earlier versions wrote them.
    const id = 'legacy';
    const slot = T0 - (T0 % SLOT);
    await dynamo.doc.send(new PutCommand({ TableName: table(), Item: { pk: telemetryGroupKey(telemetryGroup(id)), sk: telemetryChunkKey(slot), n: 20, [`~${id}.1`]: { _t: 5, t: 1 } } }));
    await dynamo.doc.send(
      new PutCommand({ TableName: table(), Item: { pk: telemetryPartitionKey(id, slot + 7), sk: telemetrySortKey(slot + 7, 2), deviceId: id, ts: slot + 7, seq: 2, m: { t: 2 } } }),
    );

    // Act
    await store.write([point(id, slot + 9, 3, { t: 3 })]);

    // Assess
    expect((await all(store, id, 't', slot, slot + SLOT)).items).toEqual([
      { ts: slot + 5, seq: 1, value: 1 },
      { ts: slot + 7, seq: 2, value: 2 },
      { ts: slot + 9, seq: 3, value: 3 },
    ]);
    expect(await store.countReadings(id, slot, slot + SLOT)).toBe(3);
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

  it('pages through more chunk items than one Query page holds without gaps or repeats', async () => {
    // Prepare: 300 readings, one chunk each, every third one larger.
    const small = new DynamoDbTelemetryStore(dynamo.doc, table(), { chunkBytes: 0, rollups: false });
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

  it('stores readings of 100 metrics, each metric queryable, a ~100 KB reading in a chunk of its own', async () => {
    // Prepare: one small reading with 100 metrics of every type, one with 100 strings of 1,024 characters (~100 KB).
    const id = 'many-metrics';
    const metrics = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`m${i}`, i % 3 === 0 ? i : i % 3 === 1 ? i % 2 === 0 : `s${i}`]));
    const large = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`m${i}`, String(i % 10).repeat(1024)]));

    // Rollups of 100 metrics are the rollup tests' business: this one is about the raw items.
    const raw = new DynamoDbTelemetryStore(dynamo.doc, table(), { rollups: false });

    // Act
    await raw.write([point(id, T0, 1, metrics), point(id, T0 + 1, 2, large)]);

    // Assess
    for (const [name, value] of Object.entries(metrics)) {
      const { items } = await all(raw, id, name, T0, T0 + 2);
      expect(items).toEqual([{ ts: T0, seq: 1, value }, { ts: T0 + 1, seq: 2, value: large[name] }]);
    }
    const chunks = await chunksOf(id);
    expect(chunks).toHaveLength(2);
    expect(chunks[1]![`~${id}.2`]).toEqual({ _t: 0, ...large });
  });

  it('packs 1,000 readings of 10 s (100 messages/s) into chunks within chunkBytes, each read back once, in order', async () => {
    // Prepare
    const id = 'busy-slot';
    const base = T0 - (T0 % SLOT) + SLOT;
    const readings = Array.from({ length: 1000 }, (_, i) => point(id, base + i * 10, i, { temperature: 20 + i / 100, humidity: 40, door: i % 2 === 0 }));

    // Act
    await store.write(readings);

    // Assess
    const chunks = await chunksOf(id);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(Buffer.byteLength(JSON.stringify(chunk))).toBeLessThan(16_384 * 1.5);
    const { items } = await all(store, id, 'temperature', base, base + SLOT);
    expect(items.map((i) => i.seq)).toEqual(readings.map((r) => r.seq));
    expect(await store.countReadings(id, base, base + SLOT - 1)).toBe(1000);
  });

  it('finds the few readings of a rare reporter among hundreds of chunk items of a busy device in its group', async () => {
    // Prepare: two groups only; a busy device fills 700 slots, a rare one reports three times.
    const shared = new DynamoDbTelemetryStore(dynamo.doc, table(), { groupBits: 1, chunkBytes: 0 });
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

  it('reads only its own readings from a chunk item shared with other devices, even one whose id extends its own', async () => {
    // Prepare: two groups only, so the devices share slot items.
    const shared = new DynamoDbTelemetryStore(dynamo.doc, table(), { groupBits: 1 });
    const ids = ['x', 'x.1', 'x.1.2', 'y', 'z', 'x.2'].filter((id) => telemetryGroup(id, 1) === telemetryGroup('x', 1));
    expect(ids.length).toBeGreaterThanOrEqual(2);
    await shared.write(ids.flatMap((id, d) => [point(id, T0, 1, { t: d }), point(id, T0 + 1, 2, { t: d })]));

    // Act / Assess
    for (const [d, id] of ids.entries()) {
      expect((await all(shared, id, 't', T0, T0 + 2)).items).toEqual([{ ts: T0, seq: 1, value: d }, { ts: T0 + 1, seq: 2, value: d }]);
    }
  });
});
