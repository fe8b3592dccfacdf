import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { KinesisStreamRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbDeviceStateWriter } from '../../src/adapters/dynamodb/device-state-writer.js';
import { DEVICES_TABLE, TELEMETRY_TABLE } from '../../src/contracts/tables.js';
import { InMemoryDeadLetterQueue } from '../../src/adapters/sqs/in-memory-dead-letter-queue.js';
import { DynamoDbTelemetryStore } from '../../src/adapters/telemetry/dynamodb-telemetry-store.js';
import { UnavailableError } from '../../src/domain/errors.js';
import { createIngestHandler } from '../../src/devices/ingest-handler.js';
import { kinesisRecordFor } from '../../src/devices/kinesis-event.js';
import type { RejectReason } from '../../src/devices/telemetry-message.js';
import { ensureTables, LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames, startDynalite, type LocalDynamo } from '../../src/local/dynamodb/dynalite.js';
import type { TelemetryWriter } from '../../src/ports/telemetry-store.js';
import { seedDevice, telemetryJson, telemetryRecord } from './ingest-helpers.js';

let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;
let names: Record<string, string>;
/** UpdateItem calls per device id, counted by an SDK middleware (what DynamoDB would bill). */
const updatesByDevice = new Map<string, number>();
const NOW = Date.parse('2026-11-26T12:00:00.000Z');

beforeAll(async () => {
  dynamo = await startDynalite();
  names = localTableNames('ingest-');
  await ensureTables(dynamo.endpoint, names, [DEVICES_TABLE, TELEMETRY_TABLE]);
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      // Device-state updates only: the telemetry store updates its slot items (keyed by pk/sk) too.
      if ((context.commandName === 'UpdateItemCommand' || context.commandName === 'UpdateCommand') && (args.input as { Key: object }).Key && 'id' in (args.input as { Key: object }).Key) {
        const key = (args.input as { Key: { id: string | { S: string } } }).Key.id;
        const id = typeof key === 'string' ? key : key.S;
        updatesByDevice.set(id, (updatesByDevice.get(id) ?? 0) + 1);
      }
      return next(args);
    },
    { step: 'build', name: 'countUpdates' },
  );
  doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
});

afterAll(async () => {
  doc.destroy();
  await dynamo.stop();
});

beforeEach(() => updatesByDevice.clear());

const devicesTable = () => names[DEVICES_TABLE.id]!;
const telemetryTable = () => names[TELEMETRY_TABLE.id]!;

function setup(telemetry?: TelemetryWriter) {
  const store = new DynamoDbTelemetryStore(doc, telemetryTable());
  const deadLetters = new InMemoryDeadLetterQueue();
  const handler = createIngestHandler({
    devices: new DynamoDbDeviceStateWriter(doc, devicesTable()),
    telemetry: telemetry ?? store,
    deadLetters,
    now: () => NOW,
  });
  return { store, deadLetters, handler };
}

async function storedSeqs(store: DynamoDbTelemetryStore, deviceId: string, metric = 't'): Promise<number[]> {
  const page = await store.query({ deviceId, metric, from: NOW - 86_400_000 * 9, to: NOW + 86_400_000, limit: 1000 });
  return page.items.map((i) => i.seq);
}

describe('createIngestHandler', () => {
  it('dead-letters each of 40 bad messages with its reason and stores every good one of the same batch', async () => {
    // Prepare
    const [a, b, c] = [await seedDevice(doc, devicesTable()), await seedDevice(doc, devicesTable()), await seedDevice(doc, devicesTable())];
    const ok = (seq: number, ts = NOW - 1000 + seq) => telemetryJson(seq, ts, { t: 20 + seq, on: seq % 2 === 0, mode: `m${seq}` });
    const p = (body: string) => Buffer.from(body, 'utf8');
    const json = (value: unknown) => JSON.stringify(value);
    const badCases: Array<[RejectReason, string, string | Uint8Array]> = [
      ['INVALID_JSON', a, '{"v":1,"ts":'],
      ['INVALID_JSON', a, `{"v":1,"ts":${NOW},"seq":1,"metrics":{"t":NaN}}`],
      ['INVALID_JSON', a, `{"v":1,"ts":${NOW},"seq":1,"metrics":{"t":Infinity}}`],
      ['INVALID_JSON', a, "{'v':1}"],
      ['INVALID_JSON', a, `{"v":1,"ts":${NOW},"seq":1,"metrics":{"t":1},}`],
      ['EMPTY_PAYLOAD', a, ''],
      ['INVALID_UTF8', a, Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
      ['INVALID_UTF8', b, Uint8Array.from([0x7b, 0xc0, 0xaf, 0x7d])],
      ['PAYLOAD_TOO_LARGE', a, json({ v: 1, ts: NOW, seq: 900, metrics: { s: 'x'.repeat(200 * 1024) } })],
      ['NOT_AN_OBJECT', a, '[1,2,3]'],
      ['NOT_AN_OBJECT', a, '"hello"'],
      ['NOT_AN_OBJECT', b, '42'],
      ['TOO_DEEP', a, `{"v":1,"ts":${NOW},"seq":1,"metrics":{"t":${'{"a":'.repeat(100)}1${'}'.repeat(100)}}}`],
      ['MISSING_FIELD', a, json({ ts: NOW, seq: 1, metrics: { t: 1 } })],
      ['MISSING_FIELD', a, json({ v: 1, seq: 1, metrics: { t: 1 } })],
      ['MISSING_FIELD', a, json({ v: 1, ts: NOW, metrics: { t: 1 } })],
      ['MISSING_FIELD', b, json({ v: 1, ts: NOW, seq: 1 })],
      ['MISSING_FIELD', b, json({ v: null, ts: NOW, seq: 1, metrics: { t: 1 } })],
      ['UNSUPPORTED_VERSION', a, json({ v: 3, ts: NOW, seq: 1, metrics: { t: 1 } })],
      ['WRONG_TYPE', a, json({ v: '1', ts: NOW, seq: 1, metrics: { t: 1 } })],
      ['WRONG_TYPE', a, json({ v: 1, ts: true, seq: 1, metrics: { t: 1 } })],
      ['INVALID_TIMESTAMP', a, json({ v: 1, ts: 'yesterday', seq: 1, metrics: { t: 1 } })],
      ['INVALID_TIMESTAMP', a, json({ v: 1, ts: NOW + 0.5, seq: 1, metrics: { t: 1 } })],
      ['TIMESTAMP_TOO_OLD', a, json({ v: 1, ts: NOW - 365 * 86_400_000, seq: 1, metrics: { t: 1 } })],
      ['TIMESTAMP_TOO_OLD', b, json({ v: 1, ts: '1970-01-01T00:00:00Z', seq: 1, metrics: { t: 1 } })],
      ['TIMESTAMP_IN_FUTURE', a, json({ v: 1, ts: NOW + 86_400_000, seq: 1, metrics: { t: 1 } })],
      ['WRONG_TYPE', a, json({ v: 1, ts: NOW, seq: '1', metrics: { t: 1 } })],
      ['INVALID_SEQUENCE', a, json({ v: 1, ts: NOW, seq: -1, metrics: { t: 1 } })],
      ['INVALID_SEQUENCE', a, json({ v: 1, ts: NOW, seq: 1.5, metrics: { t: 1 } })],
      ['INVALID_SEQUENCE', a, `{"v":1,"ts":${NOW},"seq":9007199254740993,"metrics":{"t":1}}`],
      ['WRONG_TYPE', a, json({ v: 1, ts: NOW, seq: 1, metrics: [1, 2] })],
      ['NO_METRICS', a, json({ v: 1, ts: NOW, seq: 1, metrics: {} })],
      ['WRONG_TYPE', a, json({ v: 1, ts: NOW, seq: 1, metrics: { t: null } })],
      ['WRONG_TYPE', b, json({ v: 1, ts: NOW, seq: 1, metrics: { t: { c: 1 } } })],
      ['NON_FINITE_NUMBER', a, `{"v":1,"ts":${NOW},"seq":1,"metrics":{"t":-1e400}}`],
      ['INVALID_METRIC_NAME', a, json({ v: 1, ts: NOW, seq: 1, metrics: { 'bad name': 1 } })],
      ['INVALID_METRIC_NAME', a, json({ v: 1, ts: NOW, seq: 1, metrics: { ['m'.repeat(65)]: 1 } })],
      ['TOO_MANY_METRICS', a, json({ v: 1, ts: NOW, seq: 1, metrics: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`m${i}`, i])) })],
      ['STRING_TOO_LONG', a, json({ v: 1, ts: NOW, seq: 1, metrics: { s: 'y'.repeat(2000) } })],
      ['UNKNOWN_FIELD', a, json({ v: 1, ts: NOW, seq: 1, metrics: { t: 1 }, extra: true })],
      ['UNKNOWN_DEVICE', randomUUID(), ok(1)],
    ];
    const records: Array<{ record: KinesisStreamRecord; expected?: RejectReason }> = [];
    const good: Record<string, number[]> = { [a]: [], [b]: [], [c]: [] };
    let seq = 100;
    for (const [index, [reason, thing, payload]] of badCases.entries()) {
      records.push({ record: telemetryRecord(thing, typeof payload === 'string' ? p(payload) : payload, NOW), expected: reason });
      const device = [a, b, c][index % 3]!;
      seq += 1;
      good[device]!.push(seq);
      records.push({ record: telemetryRecord(device, ok(seq), NOW) });
    }
    // A redelivered duplicate of a good message, and two records that are not rule output at all.
    records.push({ record: telemetryRecord(c, ok(good[c]![0]!), NOW), expected: 'DUPLICATE_SEQUENCE' });
    const garbage = telemetryRecord(a, ok(1), NOW);
    garbage.kinesis.data = Buffer.from('not json').toString('base64');
    records.push({ record: garbage, expected: 'INVALID_ENVELOPE' });
    records.push({
      record: kinesisRecordFor({ payload: p(ok(2)).toString('base64'), thingName: '../etc', clientId: 'x', receivedAt: NOW }, { sequenceNumber: '1', arrivalMs: NOW }),
      expected: 'INVALID_ENVELOPE',
    });
    const { store, deadLetters, handler } = setup();

    // Act
    const response = await handler({ Records: records.map((r) => r.record) });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const expectedBad = records.filter((r) => r.expected);
    expect(expectedBad.length).toBeGreaterThanOrEqual(30);
    expect(deadLetters.letters).toHaveLength(expectedBad.length);
    for (const { record, expected } of expectedBad) {
      const letter = deadLetters.letters.find((l) => l.sequenceNumber === record.kinesis.sequenceNumber);
      expect(letter, `${expected} for ${record.kinesis.sequenceNumber}`).toMatchObject({ source: 'ingest', reason: expected });
      expect(letter?.detail.length).toBeGreaterThan(0);
      if (expected !== 'INVALID_ENVELOPE') {
        const envelope = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8'));
        expect(letter).toMatchObject({ payload: envelope.payload, thingName: envelope.thingName, receivedAt: NOW });
      }
    }
    for (const device of [a, b, c]) {
      expect(await storedSeqs(store, device)).toEqual(good[device]);
      const item = (await doc.send(new GetCommand({ TableName: devicesTable(), Key: { id: device } }))).Item;
      const last = Math.max(...good[device]!);
      expect(item).toMatchObject({ lastSeen: new Date(NOW - 1000 + last).toISOString(), readings: { t: 20 + last, mode: `m${last}` }, version: 1 });
    }
  });

  it('writes device state once per device per batch, with the newest readings whatever the record order', async () => {
    // Prepare: devices already heard from (a device's very first batch also creates its readings map:
    // the merge is refused with a ValidationException, which DynamoDB does not bill, then one more write).
    const devices = [await seedDevice(doc, devicesTable(), { readings: { t: 0 } }), await seedDevice(doc, devicesTable(), { readings: { t: 0 } })];
    const records = [5, 1, 4, 2, 3].flatMap((seq) =>
      devices.map((d) => telemetryRecord(d, telemetryJson(seq, NOW - 100 + seq, { t: seq, [`only${seq}`]: true }), NOW)),
    );
    const { handler } = setup();

    // Act
    await handler({ Records: records });

    // Assess
    for (const device of devices) {
      expect(updatesByDevice.get(device)).toBe(1);
      const item = (await doc.send(new GetCommand({ TableName: devicesTable(), Key: { id: device } }))).Item;
      expect(item?.readings).toEqual({ t: 5, only1: true, only2: true, only3: true, only4: true, only5: true });
      expect(item?.lastSeen).toBe(new Date(NOW - 95).toISOString());
    }
  });

  it('keeps the latest-readings map within its bound and dead-letters the messages that would pass it', async () => {
    // Prepare: 3 messages x 100 distinct metrics = 300 names; the map holds 1 and may hold 200.
    const device = await seedDevice(doc, devicesTable(), { readings: { old: 1 } });
    const records = [0, 1, 2].map((m) =>
      telemetryRecord(device, telemetryJson(m, NOW - 10 + m, Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`m${m}_${i}`, i]))), NOW),
    );
    const { store, deadLetters, handler } = setup();

    // Act
    const response = await handler({ Records: records });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(deadLetters.letters.map((l) => [l.reason, l.sequenceNumber])).toEqual([
      ['READINGS_LIMIT', records[1]!.kinesis.sequenceNumber],
      ['READINGS_LIMIT', records[2]!.kinesis.sequenceNumber],
    ]);
    const readings = (await doc.send(new GetCommand({ TableName: devicesTable(), Key: { id: device } }))).Item?.readings as Record<string, number>;
    expect(Object.keys(readings)).toHaveLength(101);
    expect(readings.m0_99).toBe(99);
    expect(readings.m1_0).toBeUndefined();
    expect(await storedSeqs(store, device, 'm0_5')).toEqual([0]);
    expect(await storedSeqs(store, device, 'm1_5')).toEqual([]);
  });

  it('writes a batch of up to 200 new names in updates of 100', async () => {
    // Prepare
    const device = await seedDevice(doc, devicesTable(), { readings: {} });
    const records = [0, 1].map((m) =>
      telemetryRecord(device, telemetryJson(m, NOW - 10 + m, Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`n${m}_${i}`, i]))), NOW),
    );
    const { deadLetters, handler } = setup();

    // Act
    const response = await handler({ Records: records });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(deadLetters.letters).toEqual([]);
    const readings = (await doc.send(new GetCommand({ TableName: devicesTable(), Key: { id: device } }))).Item?.readings as Record<string, number>;
    expect(Object.keys(readings)).toHaveLength(200);
    expect(updatesByDevice.get(device)).toBe(2);
  });

  it('stores a reading redelivered in a later batch once, and a late batch does not move lastSeen back', async () => {
    // Prepare
    const device = await seedDevice(doc, devicesTable());
    const { store, deadLetters, handler } = setup();
    await handler({ Records: [telemetryRecord(device, telemetryJson(2, NOW, { t: 2 }), NOW)] });

    // Act
    const response = await handler({
      Records: [telemetryRecord(device, telemetryJson(1, NOW - 5000, { t: 1 }), NOW), telemetryRecord(device, telemetryJson(2, NOW, { t: 2 }), NOW)],
    });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(deadLetters.letters).toEqual([]);
    expect(await storedSeqs(store, device)).toEqual([1, 2]);
    const item = (await doc.send(new GetCommand({ TableName: devicesTable(), Key: { id: device } }))).Item;
    expect(item).toMatchObject({ lastSeen: new Date(NOW).toISOString(), readings: { t: 2 } });
  });

  it('reports the records of an unreachable telemetry store as batch item failures and dead-letters each bad record once across the retry', async () => {
    // Prepare
    const device = await seedDevice(doc, devicesTable());
    let storeUp = false;
    const flaky: TelemetryWriter = { write: async () => (storeUp ? { rejected: [] } : Promise.reject(new UnavailableError('store down'))) };
    const { deadLetters, handler } = setup(flaky);
    const badBefore = telemetryRecord(device, '[]', NOW);
    const goodRecord = telemetryRecord(device, telemetryJson(1, NOW, { t: 1 }), NOW);
    const badAfter = telemetryRecord(device, '{', NOW);

    // Act
    const first = await handler({ Records: [badBefore, goodRecord, badAfter] });
    const lettersAfterFirst = deadLetters.letters.map((l) => l.reason);
    storeUp = true;
    // Lambda checkpoints before the failed record and redelivers from it.
    const retry = await handler({ Records: [goodRecord, badAfter] });

    // Assess
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: goodRecord.kinesis.sequenceNumber }]);
    // The record after the failure comes again: its letter waits for that delivery.
    expect(lettersAfterFirst).toEqual(['NOT_AN_OBJECT']);
    expect(retry.batchItemFailures).toEqual([]);
    expect(deadLetters.letters.map((l) => [l.reason, l.sequenceNumber])).toEqual([
      ['NOT_AN_OBJECT', badBefore.kinesis.sequenceNumber],
      ['INVALID_JSON', badAfter.kinesis.sequenceNumber],
    ]);
  });

  it('dead-letters points the store rejects and keeps the batch successful', async () => {
    // Prepare
    const device = await seedDevice(doc, devicesTable());
    const picky: TelemetryWriter = {
      write: async (points) => ({ rejected: points.filter((pt) => pt.seq === 2).map((point) => ({ point, reason: 'type conflict' })) }),
    };
    const { deadLetters, handler } = setup(picky);

    // Act
    const response = await handler({
      Records: [1, 2].map((seq) => telemetryRecord(device, telemetryJson(seq, NOW, { t: seq }), NOW)),
    });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(deadLetters.letters).toMatchObject([{ reason: 'STORE_REJECTED', detail: 'type conflict', thingName: device }]);
  });
});
