/**
 * What the scheduled sweep needs to know about devices for no-data rules: which devices a
 * target covers (from index keys only, no item reads) and, for the devices that may be due,
 * when each was last heard from, in all and per watched metric. The DynamoDB adapter is
 * src/adapters/dynamodb/device-silence-source.ts.
 */
import type { AlarmTarget } from './alarm-rule.js';
import type { AlarmCursor } from './alarm-store.js';

/** When a device was last heard from (epoch ms). */
export interface DeviceHeard {
  readonly id: string;
  readonly createdAt: number;
  /** Event time of its newest telemetry; absent until it sent some. */
  readonly lastSeen?: number;
  /** Event time of the newest reading of each metric a per-metric no-data rule watches. */
  readonly metricSeenAt: Readonly<Record<string, number>>;
}

/** Reads device silence through indexes and key lookups; never a Scan. */
export interface DeviceSilenceSource {
  /** One page of the ids of the devices a target covers, in index order. */
  targetIds(target: AlarmTarget, limit: number, after?: AlarmCursor): Promise<{ readonly ids: readonly string[]; readonly cursor?: AlarmCursor }>;
  /** When each of these devices was last heard from; a device that does not exist is absent. */
  heard(ids: readonly string[]): Promise<ReadonlyMap<string, DeviceHeard>>;
}
