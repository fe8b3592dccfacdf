/** Which changes only carry telemetry, so an operator may choose not to fan them out live. */
import type { DeviceChange } from '../domain/device-change.js';

/**
 * Whether `change` is telemetry only: an update whose version and twin version did not move. Registry writes
 * and presence status changes increment `version`; the ingest path's lastSeen/readings writes
 * (and presence bookkeeping that leaves the status as it was) do not.
 */
export function isTelemetryOnlyChange(change: DeviceChange): boolean {
  return (
    change.changeType === 'UPDATED' &&
    change.previous !== undefined &&
    change.device.version === change.previous.version &&
    change.device.twinVersion === change.previous.twinVersion
  );
}
