import { GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDeviceStateWriter } from '../../../src/adapters/dynamodb/device-state-writer.js';
import { DEVICES_TABLE } from '../../../src/contracts/tables.js';
import { toPresenceUpdate } from '../../../src/devices/presence-handler.js';
import type { PresenceUpdate } from '../../../src/ports/device-state-writer.js';
import { presenceEvent, seedDevice } from '../../devices/ingest-helpers.js';
import { useLocalDynamo } from '../../support/local-dynamo.js';

const dynamo = useLocalDynamo({ tables: [DEVICES_TABLE], prefix: 'state-' });
const table = dynamo.table(DEVICES_TABLE);
let writer: DynamoDbDeviceStateWriter;
const NOW = new Date('2026-11-26T12:00:00.000Z');

beforeAll(() => {
  writer = new DynamoDbDeviceStateWriter(dynamo.doc, table, { clock: () => NOW });
});

const read = async (id: string) => (await dynamo.doc.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }))).Item;

describe('DynamoDbDeviceStateWriter.recordTelemetry', () => {
  it('sets lastSeen and creates the readings map on the first write', async () => {
    // Prepare
    const id = await seedDevice(dynamo.doc, table);

    // Act
    const outcome = await writer.recordTelemetry({ deviceId: id, lastSeen: NOW.getTime(), readings: { t: 20.5, on: true } });

    // Assess
    expect(outcome).toBe('applied');
    expect(await read(id)).toMatchObject({ lastSeen: NOW.toISOString(), readings: { t: 20.5, on: true }, version: 1 });
  });

  it('merges readings metric by metric into an existing map', async () => {
    // Prepare
    const id = await seedDevice(dynamo.doc, table, { readings: { t: 1, mode: 'eco' } });

    // Act
    await writer.recordTelemetry({ deviceId: id, lastSeen: NOW.getTime(), readings: { t: 2, rpm: 900 } });

    // Assess
    expect((await read(id))?.readings).toEqual({ t: 2, mode: 'eco', rpm: 900 });
  });

  it('never moves lastSeen backwards and keeps the newer readings', async () => {
    // Prepare
    const id = await seedDevice(dynamo.doc, table);
    await writer.recordTelemetry({ deviceId: id, lastSeen: NOW.getTime(), readings: { t: 30 } });

    // Act
    const outcome = await writer.recordTelemetry({ deviceId: id, lastSeen: NOW.getTime() - 60_000, readings: { t: 10 } });

    // Assess
    expect(outcome).toBe('stale');
    expect(await read(id)).toMatchObject({ lastSeen: NOW.toISOString(), readings: { t: 30 } });
  });

  it('records watched metrics\' times on the same write, creating the map on a device without one or without any readings', async () => {
    // Prepare: a device with readings but no metricSeenAt map, one with nothing, and one unknown
    const older = await seedDevice(dynamo.doc, table, { readings: { t: 1 } });
    const fresh = await seedDevice(dynamo.doc, table);
    const ts = NOW.getTime();

    // Act
    const first = await writer.recordTelemetry({ deviceId: older, lastSeen: ts, readings: { t: 2, p: 1.5 }, metricTimes: { p: ts - 5_000 } });
    const second = await writer.recordTelemetry({ deviceId: older, lastSeen: ts + 10_000, readings: { t: 3 }, metricTimes: {} });
    const third = await writer.recordTelemetry({ deviceId: older, lastSeen: ts + 20_000, readings: { p: 1.6, t: 4 }, metricTimes: { p: ts + 20_000, t: ts + 19_000 } });
    const blank = await writer.recordTelemetry({ deviceId: fresh, lastSeen: ts, readings: { p: 1 }, metricTimes: { p: ts } });
    const unknown = await writer.recordTelemetry({ deviceId: 'no-such-device', lastSeen: ts, readings: { p: 1 }, metricTimes: { p: ts } });

    // Assess
    expect([first, second, third, blank, unknown]).toEqual(['applied', 'applied', 'applied', 'applied', 'unknown']);
    expect(await read(older)).toMatchObject({ readings: { t: 4, p: 1.6 }, metricSeenAt: { p: ts + 20_000, t: ts + 19_000 }, lastSeen: new Date(ts + 20_000).toISOString() });
    expect(await read(fresh)).toMatchObject({ readings: { p: 1 }, metricSeenAt: { p: ts } });
    expect(await read('no-such-device')).toBeUndefined();
  });

  it('reports an unknown device and creates no item', async () => {
    // Act
    const outcome = await writer.recordTelemetry({ deviceId: 'no-such-thing', lastSeen: NOW.getTime(), readings: { t: 1 } });

    // Assess
    expect(outcome).toBe('unknown');
    expect(await read('no-such-thing')).toBeUndefined();
  });
});

describe('DynamoDbDeviceStateWriter readings bound', () => {
  const names = (n: number, prefix = 'm') => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, i]));

  it('answers full, changing nothing, when new names could pass the bound', async () => {
    // Prepare
    const id = await seedDevice(dynamo.doc, table, { readings: names(9) });

    // Act
    const outcome = await writer.recordTelemetry({ deviceId: id, lastSeen: NOW.getTime(), readings: { a: 1, b: 2 }, maxReadings: 10 });

    // Assess
    expect(outcome).toBe('full');
    expect(Object.keys((await read(id))?.readings ?? {})).toHaveLength(9);
    expect((await read(id))?.lastSeen).toBeUndefined();
  });

  it('applies known names to a full map once it is told which names are stored', async () => {
    // Prepare
    const id = await seedDevice(dynamo.doc, table, { readings: names(10) });
    const storedNames = await writer.readingNames(id);

    // Act
    const outcome = await writer.recordTelemetry({ deviceId: id, lastSeen: NOW.getTime(), readings: { m1: 100, m2: 200 }, maxReadings: 10, storedNames });

    // Assess
    expect(storedNames).toEqual(new Set(Object.keys(names(10))));
    expect(outcome).toBe('applied');
    expect((await read(id))?.readings).toMatchObject({ m1: 100, m2: 200 });
  });

  it('reads no names of an unknown device', async () => {
    // Act / Assess
    expect(await writer.readingNames('no-such-thing')).toBeUndefined();
  });

  it('answers too-large, changing nothing, when the item would pass 400 KB', async () => {
    // Prepare: an item just under DynamoDB's limit
    const id = await seedDevice(dynamo.doc, table, { metadata: { notes: 'x'.repeat(405_000) } });

    // Act
    const outcome = await writer.recordTelemetry({ deviceId: id, lastSeen: NOW.getTime(), readings: { log: 'y'.repeat(8_000) }, maxReadings: 200 });

    // Assess
    expect(outcome).toBe('too-large');
    expect((await read(id))?.readings).toBeUndefined();
  });
});

describe('DynamoDbDeviceStateWriter.recordPresence', () => {
  const update = (id: string, status: 'ONLINE' | 'OFFLINE', at: number, version: number): PresenceUpdate =>
    status === 'ONLINE' ? { deviceId: id, status, at, version } : { deviceId: id, status, at, version, disconnectReason: 'CONNECTION_LOST' };

  it('turns a device ONLINE, bumps version and sets updatedAt', async () => {
    // Prepare
    const id = await seedDevice(dynamo.doc, table);

    // Act
    const outcome = await writer.recordPresence(update(id, 'ONLINE', 1000, 1));

    // Assess
    expect(outcome).toBe('applied');
    expect(await read(id)).toMatchObject({ status: 'ONLINE', version: 2, presenceAt: 1000, presenceVersion: 1, updatedAt: NOW.toISOString() });
  });

  it('ignores a repeated event and an older one', async () => {
    // Prepare
    const id = await seedDevice(dynamo.doc, table);
    await writer.recordPresence(update(id, 'OFFLINE', 2000, 2));

    // Act
    const repeated = await writer.recordPresence(update(id, 'OFFLINE', 2000, 2));
    const older = await writer.recordPresence(update(id, 'ONLINE', 1000, 1));

    // Assess
    expect([repeated, older]).toEqual(['stale', 'stale']);
    expect(await read(id)).toMatchObject({ status: 'OFFLINE', presenceAt: 2000, disconnectReason: 'CONNECTION_LOST' });
  });

  it('orders events with equal timestamps by versionNumber', async () => {
    // Prepare
    const id = await seedDevice(dynamo.doc, table, { status: 'ONLINE' });
    await writer.recordPresence(update(id, 'OFFLINE', 5000, 8));

    // Act
    const outcome = await writer.recordPresence(update(id, 'ONLINE', 5000, 7));

    // Assess
    expect(outcome).toBe('stale');
    expect((await read(id))?.status).toBe('OFFLINE');
  });

  it('never overwrites MAINTENANCE but records the event and its disconnect reason', async () => {
    // Prepare
    const id = await seedDevice(dynamo.doc, table, { status: 'MAINTENANCE', version: 4 });

    // Act
    const connected = await writer.recordPresence(update(id, 'ONLINE', 1000, 1));
    const disconnected = await writer.recordPresence({ deviceId: id, status: 'OFFLINE', at: 2000, version: 2, disconnectReason: 'AUTH_ERROR' });

    // Assess
    expect([connected, disconnected]).toEqual(['recorded', 'recorded']);
    expect(await read(id)).toMatchObject({ status: 'MAINTENANCE', version: 4, presenceAt: 2000, disconnectReason: 'AUTH_ERROR' });
  });

  it('reports an unknown device and creates no item', async () => {
    expect(await writer.recordPresence(update('ghost', 'ONLINE', 1, 1))).toBe('unknown');
    expect(await read('ghost')).toBeUndefined();
  });

  it('ends in the state of the latest event for any shuffled or repeated sequence of events', async () => {
    // Prepare: a session history connected/disconnected alternating, versions increasing, some equal timestamps.
    const history = fc
      .array(fc.record({ gap: fc.integer({ min: 0, max: 3 }), reason: fc.constantFrom('CONNECTION_LOST', 'AUTH_ERROR', 'MQTT_KEEP_ALIVE_TIMEOUT') }), {
        minLength: 1,
        maxLength: 8,
      })
      .map((steps) => {
        let at = 1_000;
        return steps.map((step, index) => {
          at += step.gap;
          return presenceEvent('x', index % 2 === 0 ? 'connected' : 'disconnected', at, index + 1, step.reason);
        });
      });
    const arrival = history.chain((events) =>
      fc
        .array(fc.integer({ min: 0, max: events.length - 1 }), { maxLength: 6 })
        .chain((repeats) => fc.shuffledSubarray([...events, ...repeats.map((i) => events[i]!)], { minLength: events.length + repeats.length }))
        .map((order) => ({ events, order })),
    );

    await fc.assert(
      fc.asyncProperty(arrival, async ({ events, order }) => {
        const id = await seedDevice(dynamo.doc, table, { status: 'UNKNOWN' });
        // Act
        for (const event of order) await writer.recordPresence(toPresenceUpdate({ ...event, clientId: id }) as PresenceUpdate);
        // Assess
        const latest = events[events.length - 1]!;
        const item = await read(id);
        expect(item?.status).toBe(latest.eventType === 'connected' ? 'ONLINE' : 'OFFLINE');
        expect(item?.presenceAt).toBe(latest.timestamp);
        expect(item?.presenceVersion).toBe(latest.versionNumber);
        expect(item?.disconnectReason).toBe(latest.eventType === 'disconnected' ? latest.disconnectReason : undefined);
      }),
      { numRuns: 40 },
    );
    // 40 runs of conditional writes through dynalite: past the 30 s default while the whole suite shares two cores.
  }, 120_000);
});
