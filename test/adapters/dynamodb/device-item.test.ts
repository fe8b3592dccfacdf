import { describe, expect, it } from 'vitest';
import { LIST_PK, fromDeviceItem, isDeviceItem, toDeviceItem } from '../../../src/adapters/dynamodb/device-item.js';
import type { Device } from '../../../src/domain/device.js';

const device: Device = {
  id: '00000000-0000-4000-8000-000000000001',
  name: 'Pump',
  type: 'pump',
  status: 'ONLINE',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-02T00:00:00.000Z',
  lastSeen: '2026-01-03T00:00:00.000Z',
  metadata: { site: 'north' },
  version: 3,
  readings: { temperature: 21.5, running: true, mode: 'eco' },
};

describe('device item', () => {
  it('round-trips a device and adds the index keys', () => {
    // Act
    const item = toDeviceItem(device);

    // Assess
    expect(item.listPk).toBe(LIST_PK);
    expect(item.createdKey).toBe(`${device.createdAt}#${device.id}`);
    expect(fromDeviceItem(item)).toEqual(device);
  });

  it('ignores the presence attributes and malformed readings other writers may leave', () => {
    // Prepare
    const item = { ...toDeviceItem(device), presenceAt: 5, presenceVersion: 2, disconnectReason: 'CONNECTION_LOST', readings: { ok: 1, bad: { nested: true } } };

    // Act
    const mapped = fromDeviceItem(item);

    // Assess
    expect(mapped.readings).toEqual({ ok: 1 });
    expect(mapped).not.toHaveProperty('presenceAt');
  });

  it('tells device items from other items', () => {
    // Act / Assess
    expect(isDeviceItem(toDeviceItem(device))).toBe(true);
    expect(isDeviceItem({ id: device.id, lastSeen: 'x' })).toBe(false);
    expect(isDeviceItem({ ...toDeviceItem(device), status: 'SLEEPING' })).toBe(false);
    expect(() => fromDeviceItem({ id: 'x' })).toThrow(/not a device/);
  });
});
