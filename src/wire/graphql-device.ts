/**
 * A domain device and change in the GraphQL schema's shapes: what the GraphQL door returns and
 * what the AppSync publisher sends as publishDeviceUpdate's (and publishTelemetryBatch's) input. Shared here so that the
 * adapter does not import the door.
 */
import type { Device as DomainDevice, ReadingValue } from '../domain/device.js';
import type { DeviceChange as DomainChange } from '../domain/device-change.js';
import type { Device, DeviceChangeInput, Reading, TelemetryUpdateInput } from '../generated/graphql/types.js';

/** One reading in the schema's shape (exactly one value field set). */
export function toReading(metric: string, value: ReadingValue): Reading {
  if (typeof value === 'number') return { metric, numberValue: value, booleanValue: null, stringValue: null };
  if (typeof value === 'boolean') return { metric, numberValue: null, booleanValue: value, stringValue: null };
  return { metric, numberValue: null, booleanValue: null, stringValue: value };
}

/** A domain device in the schema's shape. */
export function toGraphqlDevice(device: DomainDevice): Device {
  return {
    id: device.id,
    name: device.name,
    type: device.type,
    status: device.status,
    createdAt: device.createdAt,
    updatedAt: device.updatedAt,
    lastSeen: device.lastSeen ?? null,
    metadata: Object.entries(device.metadata).map(([key, value]) => ({ key, value })),
    version: device.version,
    readings: Object.entries(device.readings).map(([metric, value]) => toReading(metric, value)),
    twinVersion: device.twinVersion ?? null,
    alarms: null,
  };
}

/** The publishDeviceUpdate input for a change; the subscriber-facing DeviceChange is the same shape. */
export function toDeviceChangeInput(change: DomainChange): DeviceChangeInput {
  // Device.alarms is filled by the queries only; DeviceInput has no such field.
  const { alarms: _alarms, ...device } = toGraphqlDevice(change.device);
  return {
    id: device.id,
    changeType: change.changeType,
    device: { ...device, lastSeen: device.lastSeen ?? null, twinVersion: device.twinVersion ?? null },
    changedAt: change.changedAt,
    sequence: change.sequence,
  };
}

/** The compact form of a telemetry-only change in a publishTelemetryBatch input: readings as one JSON object. */
export function toTelemetryUpdateInput(change: DomainChange): TelemetryUpdateInput {
  return {
    id: change.device.id,
    sequence: change.sequence,
    lastSeen: change.device.lastSeen ?? null,
    readings: JSON.stringify(change.device.readings),
  };
}
