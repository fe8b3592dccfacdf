import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCredentialStoreFixture, type CredentialStoreFixture } from './credential-store-fixture.js';
import { DynamoDbDeviceCredentialStore } from '../../../src/adapters/dynamodb/device-credentials-store.js';
import { DynamoDbDeviceStateWriter } from '../../../src/adapters/dynamodb/device-state-writer.js';
import { DeviceRegistry } from '../../../src/domain/device-registry.js';
import { admits } from '../../../src/ports/device-credentials.js';

let fixture: CredentialStoreFixture;
let doc: DynamoDBDocumentClient;
let store: DynamoDbDeviceCredentialStore;
let registry: DeviceRegistry;
let writer: DynamoDbDeviceStateWriter;
const NOW = new Date('2026-11-26T12:00:00.000Z');
const CERT_A = 'a'.repeat(64);
const CERT_B = 'b'.repeat(64);
const MISSING = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  fixture = await startCredentialStoreFixture('credentials-', NOW);
  ({ doc, store, registry } = fixture);
  writer = new DynamoDbDeviceStateWriter(doc, fixture.devicesTable);
});

afterAll(() => fixture.stop());

describe('DynamoDbDeviceCredentialStore', () => {
  it('binds a certificate to an existing device and increments its version', async () => {
    // Prepare
    const device = await registry.create({ name: 'pump', type: 'pump' });

    // Act
    const binding = await store.bind(device.id, CERT_A);

    // Assess
    expect(binding).toEqual({ deviceId: device.id, certificateId: CERT_A, status: 'ACTIVE', version: device.version + 1 });
    expect(await store.get(device.id)).toEqual(binding);
    expect((await registry.get(device.id)).version).toBe(device.version + 1);
  });

  it('keeps the binding through every registry update, metadata included, and telemetry/presence writes', async () => {
    // Prepare
    const device = await registry.create({ name: 'valve', type: 'valve', metadata: { site: 'north' } });
    await store.bind(device.id, CERT_A);

    // Act: the registry doors can only reach these fields; a caller tries to forge the old keys
    await registry.update({ id: device.id, name: 'renamed valve', type: 'valve2', status: 'MAINTENANCE' });
    await registry.update({ id: device.id, metadata: { certificateStatus: 'ACTIVE', certificateId: CERT_B, 'iot:certificateStatus': 'ACTIVE' } });
    await registry.update({ id: device.id, metadata: {} });
    await writer.recordTelemetry({ deviceId: device.id, lastSeen: NOW.getTime(), readings: { t: 1 } });

    // Assess
    const binding = await store.get(device.id);
    expect(binding).toMatchObject({ certificateId: CERT_A, status: 'ACTIVE' });
    expect(admits(binding, CERT_A)).toBe(true);
    expect(admits(binding, CERT_B)).toBe(false);
    const read = await registry.get(device.id);
    expect(read).toMatchObject({ name: 'renamed valve', metadata: {} });
    expect(read).not.toHaveProperty('certificateId');
    expect(read).not.toHaveProperty('certificateStatus');
  });

  it('revokes once (the first revokedAt is kept) and a metadata update cannot undo it', async () => {
    // Prepare
    const device = await registry.create({ name: 'meter', type: 'meter' });
    const bound = await store.bind(device.id, CERT_A);

    // Act
    const revoked = await store.revoke(device.id);
    const again = await new DynamoDbDeviceCredentialStore(doc, store['tableName'], { clock: () => new Date(NOW.getTime() + 60_000) }).revoke(device.id);
    await registry.update({ id: device.id, metadata: { 'iot:certificateStatus': 'ACTIVE', certificateStatus: 'ACTIVE' } });

    // Assess
    expect(revoked).toEqual({ deviceId: device.id, certificateId: CERT_A, status: 'REVOKED', revokedAt: NOW.toISOString(), version: bound.version + 1 });
    expect(again).toEqual(revoked);
    const binding = await store.get(device.id);
    expect(binding).toMatchObject({ status: 'REVOKED', revokedAt: NOW.toISOString() });
    expect(admits(binding, CERT_A)).toBe(false);
  });

  it('refuses to bind a revoked certificate again, but binds a new one', async () => {
    // Prepare
    const device = await registry.create({ name: 'gate', type: 'gate' });
    await store.bind(device.id, CERT_A);
    await store.revoke(device.id);

    // Act
    const rebinding = store.bind(device.id, CERT_A);

    // Assess
    await expect(rebinding).rejects.toMatchObject({ code: 'CONFLICT' });
    const replaced = await store.bind(device.id, CERT_B);
    expect(replaced).toMatchObject({ certificateId: CERT_B, status: 'ACTIVE' });
    expect(replaced).not.toHaveProperty('revokedAt');
  });

  it('binds idempotently: the same certificate again changes nothing', async () => {
    // Prepare
    const device = await registry.create({ name: 'fan', type: 'fan' });
    const first = await store.bind(device.id, CERT_A);

    // Act
    const second = await store.bind(device.id, CERT_A);

    // Assess
    expect(second).toEqual(first);
  });

  it('never creates an item: binding or revoking an unknown device is NotFound', async () => {
    // Act / Assess
    await expect(store.bind(MISSING, CERT_A)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.revoke(MISSING)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await store.get(MISSING)).toBeUndefined();
  });

  it('drops the binding with the device: a device re-created with the same id has none', async () => {
    // Prepare
    const device = await registry.create({ name: 'lamp', type: 'lamp' });
    await store.bind(device.id, CERT_A);

    // Act
    await registry.delete(device.id);
    await registry.create({ id: device.id, name: 'lamp again', type: 'lamp' });

    // Assess
    const binding = await store.get(device.id);
    expect(binding).toMatchObject({ deviceId: device.id });
    expect(binding).not.toHaveProperty('certificateId');
    expect(admits(binding, CERT_A)).toBe(false);
  });

  it('refuses malformed input with typed errors and reads a malformed id as no device', async () => {
    // Prepare
    const device = await registry.create({ name: 'bad input', type: 'probe' });

    // Act / Assess
    await expect(store.bind('not-a-uuid', CERT_A)).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(store.bind(device.id, 'XYZ')).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(store.revoke('')).rejects.toMatchObject({ code: 'VALIDATION' });
    expect(await store.get('not-a-uuid')).toBeUndefined();
    expect(await store.get(device.id)).toEqual({ deviceId: device.id, version: device.version });
  });
});
