import type { DeviceStats as DomainStats } from '../domain/device.js';
import { DEVICE_STATUSES } from '../domain/device.js';
import { ValidationError } from '../domain/errors.js';
import { metadataFromPairs, validateMetadata } from '../domain/validation.js';
import type { DeviceChange, DeviceChangeInput, DeviceStats, KeyValueInput, Maybe } from '../generated/graphql/types.js';

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
