import { describe, expect, it } from 'vitest';
import { InMemoryStats } from '../../../src/adapters/memory/in-memory-stats.js';
import type { Device } from '../../../src/domain/device.js';
import type { DeviceChange } from '../../../src/domain/device-change.js';
import { testDevice } from '../../domain/test-device.js';

const device = (overrides: Partial<Device> = {}): Device => testDevice('00000000-0000-4000-8000-000000000001', overrides);
const seq = (n: number) => String(n).padStart(48, '0');

describe('InMemoryStats', () => {
  it('counts each change once even when it is applied again', async () => {
    // Prepare
    const stats = new InMemoryStats();
    const created: DeviceChange = { changeType: 'CREATED', device: device(), changedAt: 'x', sequence: seq(1) };
    const updated: DeviceChange = { changeType: 'UPDATED', device: device({ status: 'ONLINE', type: 'gw' }), previous: device(), changedAt: 'x', sequence: seq(2) };

    // Act
    await stats.apply(created);
    await stats.apply(updated);
    await stats.apply(created);
    await stats.apply(updated);

    // Assess
    const read = await stats.read();
    expect(read.total).toBe(1);
    expect(read.byStatus).toMatchObject({ ONLINE: 1, OFFLINE: 0, UNKNOWN: 0 });
    expect(read.byType).toEqual({ gw: 1 });
  });

  it('leaves the counters alone for a telemetry-only change and returns them to zero on delete', async () => {
    // Prepare
    const stats = new InMemoryStats();
    await stats.apply({ changeType: 'CREATED', device: device(), changedAt: 'x', sequence: seq(1) });

    // Act
    await stats.apply({ changeType: 'UPDATED', device: device({ lastSeen: 'y' }), previous: device(), changedAt: 'x', sequence: seq(2) });
    const afterTelemetry = await stats.read();
    await stats.apply({ changeType: 'DELETED', device: device(), changedAt: 'x', sequence: seq(3) });

    // Assess
    expect(afterTelemetry.total).toBe(1);
    expect(await stats.read()).toMatchObject({ total: 0, byType: {}, byStatus: { OFFLINE: 0 } });
  });
});
