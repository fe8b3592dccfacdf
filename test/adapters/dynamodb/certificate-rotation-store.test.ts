import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCredentialStoreFixture, type CredentialStoreFixture } from './credential-store-fixture.js';
import { DynamoDbDeviceCredentialStore } from '../../../src/adapters/dynamodb/device-credentials-store.js';
import { DeviceRegistry } from '../../../src/domain/device-registry.js';
import { admits, boundCertificates, graceEndOf } from '../../../src/ports/device-credentials.js';

let fixture: CredentialStoreFixture;
let store: DynamoDbDeviceCredentialStore;
let registry: DeviceRegistry;
const NOW = new Date('2026-11-26T12:00:00.000Z');
const GRACE = 7 * 24 * 3600 * 1000;
const GRACE_END = new Date('2026-12-03T12:00:00.000Z');
const OLD = 'a'.repeat(64);
const NEW = 'b'.repeat(64);
const OTHER = 'c'.repeat(64);
const MISSING = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  fixture = await startCredentialStoreFixture('rotation-', NOW);
  ({ store, registry } = fixture);
});

afterAll(() => fixture.stop());

async function boundDevice(name: string) {
  const device = await registry.create({ name, type: 'meter' });
  const binding = await store.bind(device.id, OLD);
  return { id: device.id, version: binding.version };
}

describe('certificate rotation in DynamoDbDeviceCredentialStore', () => {
  it('binds the new certificate as pending beside the current one, both admitted until the grace period ends', async () => {
    // Prepare
    const { id, version } = await boundDevice('pump');

    // Act
    const binding = await store.beginRotation(id, NEW, GRACE);

    // Assess
    expect(binding).toEqual({
      deviceId: id,
      certificateId: OLD,
      status: 'ACTIVE',
      pendingCertificateId: NEW,
      rotationStartedAt: NOW.toISOString(),
      graceEndsAt: GRACE_END.toISOString(),
      version: version + 1,
    });
    expect(await store.get(id)).toEqual(binding);
    expect(boundCertificates(binding)).toEqual([OLD, NEW]);
    expect(graceEndOf(binding)).toBe(GRACE_END.getTime());
    expect(admits(binding, OLD, NOW.getTime())).toBe(true);
    expect(admits(binding, NEW, NOW.getTime())).toBe(true);
    expect(admits(binding, OLD, GRACE_END.getTime())).toBe(false);
    expect(admits(binding, NEW, GRACE_END.getTime() + 1)).toBe(true);
    expect(admits(binding, OTHER, NOW.getTime())).toBe(false);
  });

  it('finishes: only the new certificate stays, and a second finish of the same rotation changes nothing', async () => {
    // Prepare
    const { id } = await boundDevice('valve');
    const pending = await store.beginRotation(id, NEW, GRACE);

    // Act
    const finished = await store.finishRotation(id, NEW);
    const again = await store.finishRotation(id, NEW);

    // Assess
    expect(finished).toEqual({ deviceId: id, certificateId: NEW, status: 'ACTIVE', version: pending.version + 1 });
    expect(again).toEqual(finished);
    expect(admits(finished, OLD, NOW.getTime())).toBe(false);
    expect(admits(finished, NEW, NOW.getTime())).toBe(true);
    expect(graceEndOf(finished)).toBeUndefined();
  });

  it('lets exactly one of two concurrent rotations win; the other is a typed conflict naming the pending certificate', async () => {
    // Prepare
    const { id } = await boundDevice('gate');

    // Act
    const outcomes = await Promise.allSettled([store.beginRotation(id, NEW, GRACE), store.beginRotation(id, OTHER, GRACE)]);

    // Assess
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = (won[0] as PromiseFulfilledResult<{ pendingCertificateId?: string }>).value.pendingCertificateId;
    expect(lost[0]!.reason).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(`a rotation to certificate ${winner} is already pending`) });
    expect((await store.get(id))?.pendingCertificateId).toBe(winner);
  });

  it('begins idempotently for the same pending certificate, and refuses another one while it is pending', async () => {
    // Prepare
    const { id } = await boundDevice('fan');
    const first = await store.beginRotation(id, NEW, GRACE);

    // Act / Assess
    expect(await store.beginRotation(id, NEW, GRACE)).toEqual(first);
    await expect(store.beginRotation(id, OTHER, GRACE)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(store.bind(id, OTHER)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('rotation pending') });
    expect(await store.get(id)).toEqual(first);
  });

  it('keeps an admitted certificate through a finish racing a second rotation', async () => {
    // Prepare
    const { id } = await boundDevice('lamp');
    await store.beginRotation(id, NEW, GRACE);

    // Act
    const outcomes = await Promise.allSettled([store.finishRotation(id, NEW), store.beginRotation(id, OTHER, GRACE)]);

    // Assess
    expect(outcomes[0].status).toBe('fulfilled');
    const binding = (await store.get(id))!;
    expect(binding.certificateId).toBe(NEW);
    expect(admits(binding, NEW, NOW.getTime())).toBe(true);
    expect(admits(binding, OLD, NOW.getTime())).toBe(false);
    // The rotation either came after the finish (then it is pending beside NEW) or was refused.
    if (outcomes[1].status === 'fulfilled') expect(binding.pendingCertificateId).toBe(OTHER);
    else expect(binding.pendingCertificateId).toBeUndefined();
  });

  it('refuses with typed errors: unknown device, nothing pending, another pending certificate, a revoked or unbound device, bad input', async () => {
    // Prepare
    const { id } = await boundDevice('probe');
    const revoked = await boundDevice('revoked');
    await store.revoke(revoked.id);
    const unbound = await registry.create({ name: 'unbound', type: 'meter' });

    // Act / Assess
    await expect(store.beginRotation(MISSING, NEW, GRACE)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.finishRotation(MISSING, NEW)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.finishRotation(id, NEW)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('no rotation is pending') });
    await expect(store.beginRotation(id, OLD, GRACE)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('is the current one') });
    await store.beginRotation(id, NEW, GRACE);
    await expect(store.finishRotation(id, OTHER)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(`pending rotation is to certificate ${NEW}`) });
    await expect(store.beginRotation(revoked.id, NEW, GRACE)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('revoked') });
    await expect(store.beginRotation(unbound.id, NEW, GRACE)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('no active certificate') });
    await expect(store.beginRotation(id, 'XYZ', GRACE)).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(store.beginRotation(id, OTHER, -1)).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(store.finishRotation('not-a-uuid', NEW)).rejects.toMatchObject({ code: 'VALIDATION' });
  });

  it('a revoked device admits neither certificate of a pending rotation', async () => {
    // Prepare
    const { id } = await boundDevice('siren');
    await store.beginRotation(id, NEW, GRACE);

    // Act
    const binding = await store.revoke(id);

    // Assess
    expect(admits(binding, OLD, NOW.getTime())).toBe(false);
    expect(admits(binding, NEW, NOW.getTime())).toBe(false);
    await expect(store.finishRotation(id, NEW)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('revoked') });
  });
});
