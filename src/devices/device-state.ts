/**
 * The device-state port of the ingest and presence pipelines: the only writes they make to
 * the Devices table. Lives beside its use cases; the DynamoDB adapter is
 * src/adapters/dynamodb/device-state-writer.ts.
 */
import type { ReadingValue } from '../domain/device.js';

/** The coalesced effect of one batch on one device. */
export interface TelemetryStateUpdate {
  readonly deviceId: string;
  /** Epoch ms of the newest reading in the batch. */
  readonly lastSeen: number;
  /** Latest value per metric within the batch. */
  readonly readings: Readonly<Record<string, ReadingValue>>;
}

/** applied: written; stale: the stored lastSeen is newer, nothing changed; unknown: no such device. */
export type TelemetryStateOutcome = 'applied' | 'stale' | 'unknown';

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
  recordPresence(update: PresenceUpdate): Promise<PresenceOutcome>;
}
