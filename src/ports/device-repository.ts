import type { Device, DeviceStatus } from '../domain/device.js';

/**
 * Where a listing stopped. Opaque to the domain core: it only travels inside signed page
 * tokens, so a caller can never hand the repository a key it did not produce.
 */
export type PageCursor = Readonly<Record<string, string | number>>;

/** A listing request as the repository receives it (already validated). */
export interface ListDevicesQuery {
  readonly limit: number;
  readonly after?: PageCursor;
  readonly status?: DeviceStatus;
  readonly type?: string;
}

/** One page of devices in creation order; `next` is absent on the last page. */
export interface DevicePage {
  readonly items: Device[];
  readonly next?: PageCursor;
}

/** Registry fields a caller may change; only the ones present are written. */
export interface DeviceChanges {
  readonly name?: string;
  readonly type?: string;
  readonly status?: DeviceStatus;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Persistence of the device registry. Implementations: DynamoDB, in-memory. */
export interface DeviceRepository {
  /** Inserts a new device; AlreadyExistsError when the id is taken (never overwrites). */
  create(device: Device): Promise<void>;
  /** The device, or undefined. */
  get(id: string): Promise<Device | undefined>;
  /** A page in a stable order (creation time, then id), through an index: never a scan. */
  list(query: ListDevicesQuery): Promise<DevicePage>;
  /**
   * Applies `changes`, sets updatedAt and increments version in one conditional write.
   * NotFoundError when absent; ConflictError when expectedVersion is given and differs.
   */
  update(
    id: string,
    changes: DeviceChanges,
    updatedAt: string,
    expectedVersion?: number,
  ): Promise<Device>;
  /** Deletes and returns the device; NotFoundError / ConflictError as for update. */
  delete(id: string, expectedVersion?: number): Promise<Device>;
}
