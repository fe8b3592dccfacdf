import type { StoredTwin } from '../twin/twin.js';

/** Persistence of twins, one item per device, apart from the registry item. */
export interface TwinRepository {
  /** The stored twin, or undefined when the device never had one. */
  get(deviceId: string): Promise<StoredTwin | undefined>;
  /**
   * Writes `twin` only if the stored version is still `previousVersion` (0: no twin yet);
   * false when another writer got there first.
   */
  put(twin: StoredTwin, previousVersion: number): Promise<boolean>;
}

/** Tells the registry item a twin changed (its `twinVersion`), so the change feed carries it to watchers. */
export interface TwinVersionMarker {
  /** Raises the device's twinVersion to `version`; never lowers it. No-op for a device that does not exist. */
  markTwinVersion(deviceId: string, version: number): Promise<void>;
}
