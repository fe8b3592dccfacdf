/**
 * The device-state port of the ingest and presence pipelines: the only writes they make to
 * the Devices table. The DynamoDB adapter is src/adapters/dynamodb/device-state-writer.ts.
 */
import type { ReadingValue } from '../domain/device.js';

/** The coalesced effect of one batch on one device. */
export interface TelemetryStateUpdate {
  readonly deviceId: string;
  /** Epoch ms of the newest reading in the batch. */
  readonly lastSeen: number;
  /** Latest value per metric within the batch. */
  readonly readings: Readonly<Record<string, ReadingValue>>;
  /** The write must leave at most this many metrics in the stored readings map. @default unbounded */
  readonly maxReadings?: number;
  /** Names known to be in the stored map already (from readingNames): they take no room. */
  readonly storedNames?: ReadonlySet<string>;
  /**
   * Event time (epoch ms) of the newest reading of each metric a per-metric no-data alarm rule
   * watches on this device (kept in the item's `metricSeenAt` map for the scheduled sweep);
   * none for a device no such rule watches, so other devices pay nothing for it.
   */
  readonly metricTimes?: Readonly<Record<string, number>>;
}

/**
 * applied: written; stale: the stored lastSeen is newer, nothing changed; unknown: no such
 * device; full: the stored map might pass `maxReadings` with these names, nothing changed (ask
 * {@link DeviceStateWriter.readingNames} which are stored); too-large: the item would pass
 * DynamoDB's item size limit, nothing changed, and retrying cannot help.
 */
export type TelemetryStateOutcome = 'applied' | 'stale' | 'unknown' | 'full' | 'too-large';

/** One lifecycle event reduced to what the Devices item records. */
export interface PresenceUpdate {
  readonly deviceId: string;
  readonly status: 'ONLINE' | 'OFFLINE';
  /** Event time (epoch ms). */
  readonly at: number;
  /** The event's versionNumber: orders events with the same timestamp. */
  readonly version: number;
  /** Kept on OFFLINE; cleared by ONLINE. */
  readonly disconnectReason?: string;
  /**
   * Only correct a status a lifecycle event set (the item has `presenceAt`): a reconciler's
   * correction leaves a status an operator set through the API alone.
   */
  readonly onlyAfterEvent?: boolean;
}

/**
 * applied: status (and version) changed; recorded: the event is newest but the status stays
 * (already that status, or MAINTENANCE); stale: an equal or newer event was applied before;
 * unknown: no such device.
 */
export type PresenceOutcome = 'applied' | 'recorded' | 'stale' | 'unknown';

/** Writes device state; never creates a device; throws UnavailableError on outage. */
export interface DeviceStateWriter {
  recordTelemetry(update: TelemetryStateUpdate): Promise<TelemetryStateOutcome>;
  /** The metric names in the device's stored readings map; undefined when there is no such device. */
  readingNames(deviceId: string): Promise<ReadonlySet<string> | undefined>;
  recordPresence(update: PresenceUpdate): Promise<PresenceOutcome>;
}
