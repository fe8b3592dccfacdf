/** Every status a device can have; UNKNOWN is the zero value in every contract. */
export const DEVICE_STATUSES = ['UNKNOWN', 'ONLINE', 'OFFLINE', 'ERROR', 'MAINTENANCE'] as const;

/** Lifecycle and connectivity state of a device. */
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

/** The value of one telemetry metric. */
export type ReadingValue = number | boolean | string;

/** A registered device as every door (GraphQL, gRPC, MQTT) sees it. */
export interface Device {
  /** UUID; also the AWS IoT thing name and the MQTT client id. */
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly status: DeviceStatus;
  /** ISO-8601 UTC with milliseconds, as produced by Date#toISOString. */
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Time of the latest telemetry or connection event; absent until the device is heard from. */
  readonly lastSeen?: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Incremented by every registry change (not by telemetry); used for optimistic concurrency. */
  readonly version: number;
  /** Latest value per metric, kept by the ingest pipeline. */
  readonly readings: Readonly<Record<string, ReadingValue>>;
  /** Version of the device's twin (desired/reported state, kept in its own item); absent before its first change. */
  readonly twinVersion?: number;
}

/** Fleet counters, maintained by the change feed and read in constant time. */
export interface DeviceStats {
  readonly total: number;
  readonly byStatus: Readonly<Record<DeviceStatus, number>>;
  readonly byType: Readonly<Record<string, number>>;
}

/** Whether a value is one of DEVICE_STATUSES. */
export function isDeviceStatus(value: unknown): value is DeviceStatus {
  return typeof value === 'string' && (DEVICE_STATUSES as readonly string[]).includes(value);
}
