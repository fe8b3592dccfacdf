import type { DeviceStats } from '../domain/device.js';
import type { DeviceChange } from '../domain/device-change.js';

/** Reads the fleet counters in constant time, whatever the fleet size. */
export interface StatsReader {
  read(): Promise<DeviceStats>;
}

/**
 * Keeps the fleet counters exact from the change feed. `apply` must be idempotent per
 * (device, sequence): a redelivered change is counted once.
 */
export interface StatsProjector {
  apply(change: DeviceChange): Promise<void>;
}
