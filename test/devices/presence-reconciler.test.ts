import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDeviceRepository } from '../../src/adapters/dynamodb/device-repository.js';
import { DynamoDbDeviceStateWriter } from '../../src/adapters/dynamodb/device-state-writer.js';
import { createPresenceReconciler, type Connectivity, type ConnectivitySource } from '../../src/devices/presence-reconciler.js';
import { startDynamoFixture, type DynamoFixture } from '../adapters/dynamodb/dynamo-fixture.js';
import { seedDevice } from './ingest-helpers.js';

/** The broker's truth as a table the test sets (an in-memory implementation of the port). */
function truthTable(entries: Record<string, Connectivity>): ConnectivitySource & { asked: string[][] } {
  const asked: string[][] = [];
  return {
    asked,
    async connectivity(ids) {
      asked.push([...ids]);
      return new Map(ids.flatMap((id) => (entries[id] ? [[id, entries[id]!] as const] : [])));
    },
  };
}

describe('presence reconciler', () => {
  let fixture: DynamoFixture;
  const NOW = Date.parse('2026-11-29T10:00:00.000Z');
  const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString();

  beforeAll(async () => {
    fixture = await startDynamoFixture();
  });
  afterAll(async () => {
    await fixture.stop();
  });

  const status = async (id: string) =>
    (await fixture.doc.send(new GetCommand({ TableName: fixture.devicesTable, Key: { id }, ConsistentRead: true }))).Item as Record<string, unknown>;

  it('sets OFFLINE, with the reason, the ONLINE devices the broker has no session for, and leaves the others', async () => {
    // Prepare
    const lost = await seedDevice(fixture.doc, fixture.devicesTable, { status: 'ONLINE', updatedAt: minutesAgo(10), presenceAt: NOW - 600_000, presenceVersion: 7 });
    const alive = await seedDevice(fixture.doc, fixture.devicesTable, { status: 'ONLINE', updatedAt: minutesAgo(10), presenceAt: NOW - 600_000, presenceVersion: 7 });
    const offline = await seedDevice(fixture.doc, fixture.devicesTable, { status: 'OFFLINE', updatedAt: minutesAgo(10) });
    const truth = truthTable({ [lost]: { connected: false, at: NOW }, [alive]: { connected: true, at: NOW }, [offline]: { connected: false, at: NOW } });
    const corrections: string[] = [];
    const reconcile = createPresenceReconciler({
      repository: new DynamoDbDeviceRepository(fixture.doc, fixture.devicesTable),
      devices: new DynamoDbDeviceStateWriter(fixture.doc, fixture.devicesTable),
      truth,
      now: () => NOW,
      pageSize: 1,
      onCorrection: (id, reason) => corrections.push(`${id} ${reason}`),
    });

    // Act
    const summary = await reconcile();

    // Assess
    expect(summary).toMatchObject({ corrected: 1, debounced: 0 });
    expect(corrections).toEqual([`${lost} CONNECTION_LOST`]);
    expect(await status(lost)).toMatchObject({ status: 'OFFLINE', disconnectReason: 'CONNECTION_LOST', presenceAt: NOW, version: 2 });
    expect(await status(alive)).toMatchObject({ status: 'ONLINE' });
    expect(truth.asked.flat()).not.toContain(offline);
  });

  it('loses to a lifecycle event newer than its observation, in either order', async () => {
    // Prepare
    const id = await seedDevice(fixture.doc, fixture.devicesTable, { status: 'ONLINE', updatedAt: minutesAgo(10), presenceAt: NOW - 600_000, presenceVersion: 7 });
    const writer = new DynamoDbDeviceStateWriter(fixture.doc, fixture.devicesTable);
    const reconcile = createPresenceReconciler({
      repository: new DynamoDbDeviceRepository(fixture.doc, fixture.devicesTable),
      devices: writer,
      truth: truthTable({ [id]: { connected: false, at: NOW } }),
      now: () => NOW,
    });

    // Act: the device reconnects 1 ms after the observation; the correction lands first
    await reconcile();
    await writer.recordPresence({ deviceId: id, status: 'ONLINE', at: NOW + 1, version: NOW + 1 });
    // ... and a reconcile that observed before the reconnection runs again, late
    await reconcile();

    // Assess
    expect(await status(id)).toMatchObject({ status: 'ONLINE', presenceAt: NOW + 1 });
  });

  it('leaves alone a device an operator set ONLINE through the API (no lifecycle event)', async () => {
    // Prepare
    const id = await seedDevice(fixture.doc, fixture.devicesTable, { status: 'ONLINE', updatedAt: minutesAgo(10) });
    const reconcile = createPresenceReconciler({
      repository: new DynamoDbDeviceRepository(fixture.doc, fixture.devicesTable),
      devices: new DynamoDbDeviceStateWriter(fixture.doc, fixture.devicesTable),
      truth: truthTable({ [id]: { connected: false, at: NOW } }),
      now: () => NOW,
    });

    // Act
    await reconcile();

    // Assess
    expect(await status(id)).toMatchObject({ status: 'ONLINE' });
  });

  it('leaves a device whose status changed within the debounce to its own events', async () => {
    // Prepare
    const id = await seedDevice(fixture.doc, fixture.devicesTable, { status: 'ONLINE', updatedAt: new Date(NOW - 5_000).toISOString(), presenceAt: NOW - 5_000, presenceVersion: 1 });
    const reconcile = createPresenceReconciler({
      repository: new DynamoDbDeviceRepository(fixture.doc, fixture.devicesTable),
      devices: new DynamoDbDeviceStateWriter(fixture.doc, fixture.devicesTable),
      truth: truthTable({ [id]: { connected: false, at: NOW } }),
      now: () => NOW,
      debounceMs: 30_000,
    });

    // Act
    const summary = await reconcile();

    // Assess
    expect(summary.debounced).toBeGreaterThanOrEqual(1);
    expect(await status(id)).toMatchObject({ status: 'ONLINE' });
  });
});
