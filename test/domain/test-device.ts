/** The one factory of domain devices for tests that only need a valid Device to feed a port. */
import type { Device } from '../../src/domain/device.js';

/** A valid OFFLINE sensor at version 1, created 2026-01-01; `overrides` replace any field. */
export function testDevice(id: string, overrides: Partial<Device> = {}): Device {
  return {
    id,
    name: 'd',
    type: 'sensor',
    status: 'OFFLINE',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    metadata: {},
    version: 1,
    readings: {},
    ...overrides,
  };
}
