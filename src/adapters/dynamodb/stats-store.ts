/**
 * Fleet counters on DynamoDB, maintained by the change feed and read in constant time.
 *
 * Two kinds of items in the Stats table:
 * - LEDGER shards (`ledger#000` ... `ledger#255`): a device's changes always land on shard
 *   hash(id) mod STATS_LEDGER_SHARDS. A shard holds that slice's counters plus one marker
 *   per device (`seq_<deviceId>` = the last applied change's padded sequence).
 * - SUMMARY items (`summary#00` ... `summary#15`): summary g holds, for each ledger shard
 *   s with s mod 16 = g, a copy of s's counters (`c_<s>`) and the ledger revision they are
 *   from (`r_<s>`). `read` is ONE BatchGetItem of these 16 items: neither the item count
 *   nor their size depends on the fleet size, because the markers stay on the ledger.
 *
 * Exactly-once without transactions: each change is one conditional UpdateItem on its
 * ledger shard that ADDs the deltas, bumps the shard revision and SETs the device's marker,
 * on condition `attribute_not_exists(marker) OR marker < :seq`. Counters and marker change
 * atomically (same item, same request). DynamoDB Streams delivers the records of one item in
 * order, and the events handler never applies a device's record after one of that device's
 * records failed (it skips the rest of that device's records and reports the earliest failure
 * of the shard, from which the event source retries), so every change whose sequence is at or
 * below the marker has already been counted: a redelivered record fails the condition and is
 * not counted again (ConditionalCheckFailed = "already applied").
 *
 * The summary copy is then written with `SET c_<s> = :counters, r_<s> = :rev` on condition
 * `r_<s> < :rev`: a copy, not a delta, so it is idempotent and an older copy never replaces
 * a newer one. If the process dies between the two writes, the record is retried; the
 * ledger write then reports "already applied" and the projector re-reads the ledger shard
 * (consistently) and writes its copy, so the summary always catches up.
 *
 * Costs: writes touch two small items (ledger ~ fleet/256 markers of ~90 bytes: about 4 KB
 * at 10,000 devices; summary ~ 16 counter maps). A ledger shard fills its 400 KB item limit
 * at about 4,000 markers, so STATS_LEDGER_SHARDS = 256 serves about a million devices;
 * changing it needs the counters rebuilt from the Devices table.
 */
import { createHash } from 'node:crypto';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEVICE_STATUSES, type Device, type DeviceStats, type DeviceStatus } from '../../domain/device.js';
import type { DeviceChange } from '../../domain/device-change.js';
import { isPaddedSequence } from '../../domain/change-sequence.js';
import { isEmptyDelta, statsDelta } from '../../domain/stats-delta.js';
import type { StatsProjector, StatsReader } from '../../ports/stats.js';
import { batchGet } from './batch-get.js';
import { UnavailableError } from '../../domain/errors.js';
import { isConditionalCheckFailed, mapDynamoError } from './dynamo-errors.js';

/** Ledger shards: spread the counter writes (no hot item) and bound each item's marker count. */
export const STATS_LEDGER_SHARDS = 256;
/** Summary items: what a stats read fetches, one BatchGetItem whatever the fleet size. */
export const STATS_SUMMARY_ITEMS = 16;

/** Attribute names of the Stats items, shared with the rebuild (stats-rebuild.ts). */
export const STATS_ATTRIBUTES = {
  total: 'total',
  revision: 'rev',
  statusPrefix: 's_',
  typePrefix: 't_',
  markerPrefix: 'seq_',
  copyPrefix: 'c_',
  copyRevisionPrefix: 'r_',
  /** Summary items written by one rebuild carry its generation; a reader never mixes two. */
  generation: 'gen',
} as const;
const TOTAL = STATS_ATTRIBUTES.total;
const REVISION = STATS_ATTRIBUTES.revision;
const STATUS_PREFIX = STATS_ATTRIBUTES.statusPrefix;
const TYPE_PREFIX = STATS_ATTRIBUTES.typePrefix;
const MARKER_PREFIX = STATS_ATTRIBUTES.markerPrefix;
const COPY_PREFIX = STATS_ATTRIBUTES.copyPrefix;
const COPY_REVISION_PREFIX = STATS_ATTRIBUTES.copyRevisionPrefix;
/** Reads that may meet a rebuild switching the summary items over before one sees a single generation. */
const GENERATION_READS = 10;

/** Counter attributes of a ledger shard (total, s_<status>, t_<type>) and their values. */
export type Counters = Record<string, number>;

/** Partition key of ledger shard `index`. */
export function ledgerKey(index: number): string {
  return `ledger#${String(index).padStart(3, '0')}`;
}

/** Partition key of summary item `index`. */
export function summaryKey(index: number): string {
  return `summary#${String(index).padStart(2, '0')}`;
}

/** The ledger shard a device's changes are counted on: stable for the device's lifetime. */
export function ledgerShardOf(deviceId: string): number {
  return createHash('sha256').update(deviceId).digest().readUInt32BE(0) % STATS_LEDGER_SHARDS;
}

/** StatsReader and idempotent StatsProjector over the Stats table (see STATS_TABLE). */
export class DynamoDbStatsStore implements StatsReader, StatsProjector {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Sums the ledger copies held by the 16 summary items, read with one BatchGetItem. While a
   * rebuild switches the items over one by one, a read that meets two generations reads again,
   * so no reader sees half a rebuilt count.
   */
  async read(): Promise<DeviceStats> {
    const keys = Array.from({ length: STATS_SUMMARY_ITEMS }, (_, i) => ({ pk: summaryKey(i) }));
    let items: Record<string, unknown>[] = [];
    for (let attempt = 1; ; attempt += 1) {
      try {
        items = await batchGet(this.doc, this.tableName, keys);
      } catch (error) {
        throw mapDynamoError(error, 'read stats');
      }
      if (new Set(items.map((item) => item[STATS_ATTRIBUTES.generation] ?? 0)).size <= 1) break;
      if (attempt === GENERATION_READS) throw new UnavailableError('stats are being rebuilt; read again');
      await new Promise((resolve) => setTimeout(resolve, 25 * attempt));
    }
    let total = 0;
    const byStatus = Object.fromEntries(DEVICE_STATUSES.map((s) => [s, 0])) as Record<DeviceStatus, number>;
    const byType: Record<string, number> = {};
    for (const item of items) {
      for (const [name, copy] of Object.entries(item)) {
        if (!name.startsWith(COPY_PREFIX) || typeof copy !== 'object' || copy === null) continue;
        for (const [counter, value] of Object.entries(copy as Counters)) {
          if (typeof value !== 'number') continue;
          if (counter === TOTAL) total += value;
          else if (counter.startsWith(STATUS_PREFIX)) {
            const status = counter.slice(STATUS_PREFIX.length) as DeviceStatus;
            if (status in byStatus) byStatus[status] += value;
          } else if (counter.startsWith(TYPE_PREFIX)) {
            const type = counter.slice(TYPE_PREFIX.length);
            byType[type] = (byType[type] ?? 0) + value;
          }
        }
      }
    }
    const nonZeroTypes = Object.fromEntries(Object.entries(byType).filter(([, n]) => n !== 0).sort(([a], [b]) => (a < b ? -1 : 1)));
    return { total, byStatus, byType: nonZeroTypes };
  }

  /** Applies a change once (see the module comment). Zero-delta changes (telemetry only) write nothing. */
  async apply(change: DeviceChange): Promise<void> {
    if (!isPaddedSequence(change.sequence)) throw new Error(`Change for ${change.device.id} has an unpadded sequence "${change.sequence}"`);
    const delta = statsDelta(change);
    if (isEmptyDelta(delta)) return;
    const shard = ledgerShardOf(change.device.id);
    try {
      const ledger = (await this.applyToLedger(shard, change, delta)) ?? (await this.readLedger(shard));
      if (ledger) await this.copyToSummary(shard, ledger);
    } catch (error) {
      throw mapDynamoError(error, 'apply stats change');
    }
  }

  /** The ledger shard after the change, or undefined when the change was applied before. */
  private async applyToLedger(shard: number, change: DeviceChange, delta: ReturnType<typeof statsDelta>) {
    const names: Record<string, string> = { '#marker': `${MARKER_PREFIX}${change.device.id}`, '#rev': REVISION };
    const values: Record<string, unknown> = { ':seq': change.sequence, ':one': 1 };
    const adds = ['#rev :one'];
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
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: ledgerKey(shard) },
          UpdateExpression: `ADD ${adds.join(', ')} SET #marker = :seq`,
          ConditionExpression: 'attribute_not_exists(#marker) OR #marker < :seq',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes;
    } catch (error) {
      // Already applied: this record (or a later one of the same device) was counted before.
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  private async readLedger(shard: number): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: ledgerKey(shard) }, ConsistentRead: true }));
    return Item;
  }

  /** Writes the shard's counters into its summary item unless a newer copy is there already. */
  private async copyToSummary(shard: number, ledger: Record<string, unknown>): Promise<void> {
    const revision = ledger[REVISION];
    if (typeof revision !== 'number') return;
    const counters = countersOf(ledger);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: summaryKey(shard % STATS_SUMMARY_ITEMS) },
          UpdateExpression: 'SET #copy = :counters, #rev = :rev',
          ConditionExpression: 'attribute_not_exists(#rev) OR #rev < :rev',
          ExpressionAttributeNames: { '#copy': `${COPY_PREFIX}${shard}`, '#rev': `${COPY_REVISION_PREFIX}${shard}` },
          ExpressionAttributeValues: { ':counters': counters, ':rev': revision },
        }),
      );
    } catch (error) {
      // A concurrent apply already copied a newer revision of this shard.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}

/**
 * The Stats table items (ledger shards and summaries) that applying a CREATED change with
 * `sequence` for every device in `devices` would leave, built in memory. For seeding a
 * table in bulk (benchmarks, a rebuild with the stream stopped) with BatchWriteItem instead
 * of one projector round trip per device.
 */
export function statsItemsForFleet(devices: Iterable<Device>, sequence: string): Record<string, unknown>[] {
  if (!isPaddedSequence(sequence)) throw new Error(`Unpadded sequence "${sequence}"`);
  const ledgers = new Map<number, Record<string, unknown>>();
  for (const device of devices) {
    const shard = ledgerShardOf(device.id);
    const ledger = ledgers.get(shard) ?? { pk: ledgerKey(shard), [REVISION]: 0 };
    const bump = (name: string) => {
      ledger[name] = ((ledger[name] as number | undefined) ?? 0) + 1;
    };
    bump(REVISION);
    bump(TOTAL);
    bump(`${STATUS_PREFIX}${device.status}`);
    bump(`${TYPE_PREFIX}${device.type}`);
    ledger[`${MARKER_PREFIX}${device.id}`] = sequence;
    ledgers.set(shard, ledger);
  }
  const summaries = new Map<number, Record<string, unknown>>();
  for (const [shard, ledger] of ledgers) {
    const index = shard % STATS_SUMMARY_ITEMS;
    const summary = summaries.get(index) ?? { pk: summaryKey(index) };
    summary[`${COPY_PREFIX}${shard}`] = countersOf(ledger);
    summary[`${COPY_REVISION_PREFIX}${shard}`] = ledger[REVISION];
    summaries.set(index, summary);
  }
  return [...ledgers.values(), ...summaries.values()];
}

/** The non-zero counters of a ledger shard item. */
export function countersOf(ledger: Record<string, unknown>): Counters {
  const counters: Counters = {};
  for (const [name, value] of Object.entries(ledger)) {
    const isCounter = name === TOTAL || name.startsWith(STATUS_PREFIX) || name.startsWith(TYPE_PREFIX);
    if (isCounter && typeof value === 'number' && value !== 0) counters[name] = value;
  }
  return counters;
}
