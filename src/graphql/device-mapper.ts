import type { Device as DomainDevice, DeviceStats as DomainStats, ReadingValue } from '../domain/device.js';
import { DEVICE_STATUSES } from '../domain/device.js';
import type { DeviceChange as DomainChange } from '../domain/device-change.js';
import { ValidationError } from '../domain/errors.js';
import { metadataFromPairs, validateMetadata } from '../domain/validation.js';
import type {
  Device,
  DeviceChange,
  DeviceChangeInput,
  DeviceStats,
  KeyValueInput,
  Maybe,
  Reading,
} from '../generated/graphql/types.js';

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
    alarms: null,
  };
}

/** Fleet counters in the schema's shape: every status listed, types with devices only. */
export function toGraphqlStats(stats: DomainStats, activeAlarms: DeviceStats['activeAlarms'] = []): DeviceStats {
  return {
    activeAlarms,
    total: stats.total,
    online: stats.byStatus.ONLINE ?? 0,
    byStatus: DEVICE_STATUSES.map((status) => ({ status, count: stats.byStatus[status] ?? 0 })),
    byType: Object.entries(stats.byType)
      .filter(([, count]) => count > 0)
      .map(([type, count]) => ({ type, count })),
  };
}

/** The publishDeviceUpdate input for a change; the subscriber-facing DeviceChange is the same shape. */
export function toDeviceChangeInput(change: DomainChange): DeviceChangeInput {
  const { alarms: _alarms, ...device } = toGraphqlDevice(change.device);
  return {
    id: device.id,
    changeType: change.changeType,
    device: { ...device, lastSeen: device.lastSeen ?? null },
    changedAt: change.changedAt,
  };
}

/** What publishDeviceUpdate returns: its input, unchanged (it runs on a NONE data source). */
export function deviceChangeFromInput(input: DeviceChangeInput): DeviceChange {
  return input as DeviceChange;
}

/**
 * Metadata from either form the schema offers (a key/value list or one AWSJSON object);
 * undefined when neither is given. Both at once is ambiguous, so it is refused.
 */
export function metadataFromInput(
  pairs: Maybe<KeyValueInput[]> | undefined,
  json: unknown,
): Record<string, string> | undefined {
  const hasJson = json !== undefined && json !== null;
  if (pairs && hasJson) throw new ValidationError('Give metadata or metadataJson, not both', 'metadataJson');
  if (pairs) return metadataFromPairs(pairs);
  if (!hasJson) return undefined;
  // AppSync passes AWSJSON arguments to Lambda parsed; accept the text form too.
  let value = json;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new ValidationError('metadataJson must be a JSON object of string values', 'metadataJson');
    }
  }
  return validateMetadata(value, 'metadataJson');
}
