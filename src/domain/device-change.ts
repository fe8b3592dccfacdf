import type { Device } from './device.js';

/** What happened to a device. */
export type ChangeType = 'CREATED' | 'UPDATED' | 'DELETED';

/** One registry change, produced by the change feed and fanned out to every watcher. */
export interface DeviceChange {
  readonly changeType: ChangeType;
  /** The device after the change; before it, for DELETED. */
  readonly device: Device;
  /** The device before the change; absent for CREATED. */
  readonly previous?: Device;
  /** ISO-8601 time the change was captured. */
  readonly changedAt: string;
  /**
   * Stream sequence number, zero-padded to a fixed width so that string order is
   * numeric order. Increases per device; used to drop redelivered records.
   */
  readonly sequence: string;
  /**
   * Whether a single-device subscription watched the device when the change was captured
   * (telemetry-only changes reach single-device subscribers only then). Never on the wire.
   */
  readonly watched?: boolean;
}
