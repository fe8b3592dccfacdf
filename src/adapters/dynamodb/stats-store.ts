/**
 * Fleet counters on DynamoDB, maintained by the change feed and read in constant time.
 *
 * Sharding: counters live on STATS_SHARD_COUNT items (`pk` = `fleet#00` ... `fleet#15`); a
 * device always lands on shard hash(id) mod N. Writes spread over N items (no hot item),
 * and a read is one BatchGetItem of exactly N keys, whatever the fleet size.
 *
 * Exactly-once without transactions: each change is ONE conditional UpdateItem on the
 * device's shard item that ADDs the deltas and SETs a per-device marker attribute
 * `seq_<deviceId>` to the change's padded sequence number, on condition
 * `attribute_not_exists(marker) OR marker < :seq`. Counters and marker change atomically
 * (same item, same request). DynamoDB Streams delivers the records of one item in order, and
 * the events handler never skips past a failed record (it stops the batch there), so every
 * change with a sequence at or below the marker has already been counted: a redelivered
 * record fails the condition and is skipped (ConditionalCheckFailed = "already applied").
 *
 * Known limit: markers stay on the shard item (about 90 bytes per device ever seen, deleted
 * devices included), so one shard holds markers for roughly 4,000 devices before the 400 KB
 * item limit; raise STATS_SHARD_COUNT (with a re-projection) for fleets beyond ~60,000.
 */
import { createHash } from 'node:crypto';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEVICE_STATUSES, type DeviceStats, type DeviceStatus } from '../../domain/device.js';
import type { DeviceChange } from '../../domain/device-change.js';
import { isPaddedSequence } from '../../domain/change-sequence.js';
import { isEmptyDelta, statsDelta } from '../../domain/stats-delta.js';
import type { StatsProjector, StatsReader } from '../../ports/stats.js';
import { batchGet } from './batch-get.js';
import { isConditionalCheckFailed, mapDynamoError } from './dynamo-errors.js';

/** Number of counter items. Changing it needs the counters rebuilt (re-projected) from the Devices table. */
export const STATS_SHARD_COUNT = 16;

const TOTAL = 'total';
const STATUS_PREFIX = 's_';
const TYPE_PREFIX = 't_';
const MARKER_PREFIX = 'seq_';

/** Partition key of shard `index`. */
export function statsShardKey(index: number): string {
  return `fleet#${String(index).padStart(2, '0')}`;
}

/** The shard a device's changes are counted on: stable for the device's lifetime. */
export function statsShardOf(deviceId: string, shardCount = STATS_SHARD_COUNT): number {
  return createHash('sha256').update(deviceId).digest().readUInt32BE(0) % shardCount;
}

/** StatsReader and idempotent StatsProjector over the Stats table (see STATS_TABLE). */
export class DynamoDbStatsStore implements StatsReader, StatsProjector {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly shardCount = STATS_SHARD_COUNT,
  ) {}

  /** Sums the N shard items read with one BatchGetItem. */
  async read(): Promise<DeviceStats> {
    const keys = Array.from({ length: this.shardCount }, (_, i) => ({ pk: statsShardKey(i) }));
    let items: Record<string, unknown>[];
    try {
      items = await batchGet(this.doc, this.tableName, keys);
    } catch (error) {
      throw mapDynamoError(error, 'read stats');
    }
    let total = 0;
    const byStatus = Object.fromEntries(DEVICE_STATUSES.map((s) => [s, 0])) as Record<DeviceStatus, number>;
    const byType: Record<string, number> = {};
    for (const item of items) {
      for (const [name, value] of Object.entries(item)) {
        if (typeof value !== 'number') continue;
        if (name === TOTAL) total += value;
        else if (name.startsWith(STATUS_PREFIX)) {
          const status = name.slice(STATUS_PREFIX.length) as DeviceStatus;
          if (status in byStatus) byStatus[status] += value;
        } else if (name.startsWith(TYPE_PREFIX)) {
          const type = name.slice(TYPE_PREFIX.length);
          byType[type] = (byType[type] ?? 0) + value;
        }
      }
    }
    const nonZeroTypes = Object.fromEntries(Object.entries(byType).filter(([, n]) => n !== 0).sort(([a], [b]) => (a < b ? -1 : 1)));
    return { total, byStatus, byType: nonZeroTypes };
  }

  /** Applies a change once: see the module comment. Zero-delta changes (telemetry) write nothing. */
  async apply(change: DeviceChange): Promise<void> {
    if (!isPaddedSequence(change.sequence)) throw new Error(`Change for ${change.device.id} has an unpadded sequence "${change.sequence}"`);
    const delta = statsDelta(change);
    if (isEmptyDelta(delta)) return;
    const names: Record<string, string> = { '#marker': `${MARKER_PREFIX}${change.device.id}` };
    const values: Record<string, unknown> = { ':seq': change.sequence };
    const adds: string[] = [];
    const add = (attribute: string, by: number) => {
      const n = adds.length;
      names[`#a${n}`] = attribute;
      values[`:a${n}`] = by;
      adds.push(`#a${n} :a${n}`);
    };
    if (delta.total !== 0) add(TOTAL, delta.total);
    for (const [status, by] of Object.entries(delta.byStatus)) add(`${STATUS_PREFIX}${status}`, by);
    for (const [type, by] of Object.entries(delta.byType)) add(`${TYPE_PREFIX}${type}`, by);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: statsShardKey(statsShardOf(change.device.id, this.shardCount)) },
          UpdateExpression: `ADD ${adds.join(', ')} SET #marker = :seq`,
          ConditionExpression: 'attribute_not_exists(#marker) OR #marker < :seq',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      // Already applied: this record (or a later one of the same device) was counted before.
      if (isConditionalCheckFailed(error)) return;
      throw mapDynamoError(error, 'apply stats change');
    }
  }
}
