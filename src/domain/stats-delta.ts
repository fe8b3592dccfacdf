/**
 * How one registry change moves the fleet counters. Shared by every stats projector so the
 * in-memory and DynamoDB counters follow the same arithmetic.
 */
import type { Device, DeviceStatus } from './device.js';
import type { DeviceChange } from './device-change.js';

/** Counter increments (negative for decrements); only non-zero entries are present. */
export interface StatsDelta {
  readonly total: number;
  readonly byStatus: Partial<Record<DeviceStatus, number>>;
  readonly byType: Record<string, number>;
}

/** The counter changes caused by `change`; all zero for telemetry-only changes (lastSeen, readings). */
export function statsDelta(change: DeviceChange): StatsDelta {
  const before: Device | undefined = change.changeType === 'CREATED' ? undefined : change.changeType === 'DELETED' ? change.device : change.previous;
  const after: Device | undefined = change.changeType === 'DELETED' ? undefined : change.device;
  const byStatus: Partial<Record<DeviceStatus, number>> = {};
  const byType: Record<string, number> = {};
  const bump = <K extends string>(counters: Partial<Record<K, number>>, key: K, by: number) => {
    const next = (counters[key] ?? 0) + by;
    if (next === 0) delete counters[key];
    else counters[key] = next;
  };
  if (before) {
    bump(byStatus, before.status, -1);
    bump(byType, before.type, -1);
  }
  if (after) {
    bump(byStatus, after.status, 1);
    bump(byType, after.type, 1);
  }
  return { total: (after ? 1 : 0) - (before ? 1 : 0), byStatus, byType };
}

/** Whether a delta changes nothing (so a projector can skip the write). */
export function isEmptyDelta(delta: StatsDelta): boolean {
  return delta.total === 0 && Object.keys(delta.byStatus).length === 0 && Object.keys(delta.byType).length === 0;
}
