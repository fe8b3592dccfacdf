/**
 * Recounts the fleet counters from the Devices table and switches the Stats table over to them
 * (`iotctl stats rebuild`, and the local platform at startup when the counts disagree).
 *
 * Recount: one paginated Query of the byStatus index per status (the index projects `type`),
 * never a Scan. Each device is counted on its ledger shard, as the change feed counts it.
 *
 * Switch-over, without transactions:
 * 1. each ledger shard whose counters differ gets the recounted ones, on condition that its
 *    revision is the one read before the recount: a change the feed applied meanwhile fails
 *    the condition and the whole recount starts over (the device markers are kept, so a change
 *    the feed delivers again is still counted once);
 * 2. every summary item gets the copies of its shards plus a new generation, one item at a
 *    time; a reader that meets two generations reads again (DynamoDbStatsStore.read), so no
 *    reader sees half a count.
 *
 * Exact when no change is in flight between the Devices table and the feed: the index recount
 * and the ledger then describe the same devices. Locally the feed is drained first; in AWS run
 * it when the change feed's iterator age is low (its alarm is OK).
 */
import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEVICE_STATUSES, type DeviceStats } from '../../domain/device.js';
import { UnavailableError } from '../../domain/errors.js';
import { batchGet, MAX_BATCH_GET_KEYS } from './batch-get.js';
import { isConditionalCheckFailed } from './dynamo-errors.js';
import {
  countersOf,
  DynamoDbStatsStore,
  ledgerKey,
  ledgerShardOf,
  STATS_ATTRIBUTES,
  STATS_LEDGER_SHARDS,
  STATS_SUMMARY_ITEMS,
  summaryKey,
  type Counters,
} from './stats-store.js';

/** What a rebuild found and did. */
export interface StatsRebuildResult {
  /** Counts read before the rebuild. */
  readonly before: DeviceStats;
  /** The recount, now served. */
  readonly after: DeviceStats;
  /** Ledger shards whose counters were corrected. */
  readonly correctedShards: number;
  /** Recounts needed because a change landed during one. */
  readonly recounts: number;
}

/** Options of {@link rebuildStats}. */
export interface StatsRebuildOptions {
  /** Recounts before giving up while changes keep landing. @default 5 */
  readonly maxRecounts?: number;
}

const BY_STATUS_INDEX = 'byStatus';

/** Counts per ledger shard of the devices in the Devices table, through the byStatus index. */
export async function recountStats(doc: DynamoDBDocumentClient, devicesTable: string): Promise<Map<number, Counters>> {
  const shards = new Map<number, Counters>();
  const bump = (counters: Counters, name: string) => {
    counters[name] = (counters[name] ?? 0) + 1;
  };
  for (const status of DEVICE_STATUSES) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: devicesTable,
          IndexName: BY_STATUS_INDEX,
          KeyConditionExpression: '#status = :status',
          ProjectionExpression: 'id, #type',
          ExpressionAttributeNames: { '#status': 'status', '#type': 'type' },
          ExpressionAttributeValues: { ':status': status },
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) {
        if (typeof item.id !== 'string') continue;
        const shard = ledgerShardOf(item.id);
        const counters = shards.get(shard) ?? {};
        bump(counters, STATS_ATTRIBUTES.total);
        bump(counters, `${STATS_ATTRIBUTES.statusPrefix}${status}`);
        if (typeof item.type === 'string') bump(counters, `${STATS_ATTRIBUTES.typePrefix}${item.type}`);
        shards.set(shard, counters);
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }
  return shards;
}

/** The counts a recount describes, as a stats read returns them. */
export function statsOf(shards: ReadonlyMap<number, Counters>): DeviceStats {
  let total = 0;
  const byStatus = Object.fromEntries(DEVICE_STATUSES.map((s) => [s, 0])) as Record<(typeof DEVICE_STATUSES)[number], number>;
  const byType: Record<string, number> = {};
  for (const counters of shards.values()) {
    for (const [name, value] of Object.entries(counters)) {
      if (name === STATS_ATTRIBUTES.total) total += value;
      else if (name.startsWith(STATS_ATTRIBUTES.statusPrefix)) byStatus[name.slice(STATS_ATTRIBUTES.statusPrefix.length) as keyof typeof byStatus] += value;
      else if (name.startsWith(STATS_ATTRIBUTES.typePrefix)) {
        const type = name.slice(STATS_ATTRIBUTES.typePrefix.length);
        byType[type] = (byType[type] ?? 0) + value;
      }
    }
  }
  return { total, byStatus, byType: Object.fromEntries(Object.entries(byType).sort(([a], [b]) => (a < b ? -1 : 1))) };
}

/** Whether two stats reads hold the same counts. */
export function sameStats(a: DeviceStats, b: DeviceStats): boolean {
  const canonical = (s: DeviceStats) =>
    JSON.stringify([s.total, DEVICE_STATUSES.map((status) => s.byStatus[status] ?? 0), Object.entries(s.byType).filter(([, n]) => n !== 0).sort()]);
  return canonical(a) === canonical(b);
}

/** Recounts from the Devices table and switches the Stats table over (see the module comment). */
export async function rebuildStats(
  doc: DynamoDBDocumentClient,
  tables: { readonly devices: string; readonly stats: string },
  options: StatsRebuildOptions = {},
): Promise<StatsRebuildResult> {
  const store = new DynamoDbStatsStore(doc, tables.stats);
  const before = await store.read();
  const maxRecounts = options.maxRecounts ?? 5;
  for (let recount = 1; recount <= maxRecounts; recount += 1) {
    const ledgers = await readLedgers(doc, tables.stats);
    const shards = await recountStats(doc, tables.devices);
    const corrected = await correctLedgers(doc, tables.stats, ledgers, shards);
    if (corrected === undefined) continue; // a change landed during the recount
    await switchSummaries(doc, tables.stats);
    return { before, after: await store.read(), correctedShards: corrected, recounts: recount - 1 };
  }
  throw new UnavailableError(`changes kept landing during ${maxRecounts} stats recounts; try again when the change feed is quiet`);
}

async function readLedgers(doc: DynamoDBDocumentClient, statsTable: string): Promise<Map<number, Record<string, unknown>>> {
  const ledgers = new Map<number, Record<string, unknown>>();
  const keys = Array.from({ length: STATS_LEDGER_SHARDS }, (_, shard) => ({ pk: ledgerKey(shard) }));
  for (let i = 0; i < keys.length; i += MAX_BATCH_GET_KEYS) {
    for (const item of await batchGet(doc, statsTable, keys.slice(i, i + MAX_BATCH_GET_KEYS), { consistentRead: true })) {
      ledgers.set(Number(String(item.pk).slice('ledger#'.length)), item);
    }
  }
  return ledgers;
}

/** Writes the recounted counters of every shard that differs; undefined when a shard changed since it was read. */
async function correctLedgers(
  doc: DynamoDBDocumentClient,
  statsTable: string,
  ledgers: ReadonlyMap<number, Record<string, unknown>>,
  shards: ReadonlyMap<number, Counters>,
): Promise<number | undefined> {
  let corrected = 0;
  for (let shard = 0; shard < STATS_LEDGER_SHARDS; shard += 1) {
    const ledger = ledgers.get(shard);
    const current = ledger ? countersOf(ledger) : {};
    const wanted = shards.get(shard) ?? {};
    if (JSON.stringify(Object.entries(current).sort()) === JSON.stringify(Object.entries(wanted).sort())) continue;
    const names: Record<string, string> = { '#rev': STATS_ATTRIBUTES.revision };
    const values: Record<string, unknown> = { ':one': 1 };
    const sets: string[] = [];
    const removes: string[] = [];
    Object.entries(wanted).forEach(([name, value], i) => {
      names[`#s${i}`] = name;
      values[`:s${i}`] = value;
      sets.push(`#s${i} = :s${i}`);
    });
    Object.keys(current)
      .filter((name) => !(name in wanted))
      .forEach((name, i) => {
        names[`#x${i}`] = name;
        removes.push(`#x${i}`);
      });
    const revision = ledger?.[STATS_ATTRIBUTES.revision];
    if (typeof revision === 'number') values[':rev'] = revision;
    try {
      await doc.send(
        new UpdateCommand({
          TableName: statsTable,
          Key: { pk: ledgerKey(shard) },
          UpdateExpression: [sets.length > 0 && `SET ${sets.join(', ')}`, removes.length > 0 && `REMOVE ${removes.join(', ')}`, 'ADD #rev :one']
            .filter(Boolean)
            .join(' '),
          ConditionExpression: typeof revision === 'number' ? '#rev = :rev' : 'attribute_not_exists(#rev)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      corrected += 1;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }
  return corrected;
}

/** Rewrites every summary item from the ledgers under one new generation. */
async function switchSummaries(doc: DynamoDBDocumentClient, statsTable: string): Promise<void> {
  const current = await doc.send(new GetCommand({ TableName: statsTable, Key: { pk: summaryKey(0) }, ConsistentRead: true }));
  const previous = current.Item?.[STATS_ATTRIBUTES.generation];
  const generation = (typeof previous === 'number' ? previous : 0) + 1;
  let ledgers = await readLedgers(doc, statsTable);
  for (let index = 0; index < STATS_SUMMARY_ITEMS; index += 1) {
    for (let attempt = 1; ; attempt += 1) {
      const names: Record<string, string> = { '#gen': STATS_ATTRIBUTES.generation };
      const values: Record<string, unknown> = { ':gen': generation };
      const sets = ['#gen = :gen'];
      const conditions: string[] = [];
      for (let shard = index; shard < STATS_LEDGER_SHARDS; shard += STATS_SUMMARY_ITEMS) {
        const ledger = ledgers.get(shard);
        const revision = ledger?.[STATS_ATTRIBUTES.revision];
        if (typeof revision !== 'number') continue;
        names[`#c${shard}`] = `${STATS_ATTRIBUTES.copyPrefix}${shard}`;
        names[`#r${shard}`] = `${STATS_ATTRIBUTES.copyRevisionPrefix}${shard}`;
        values[`:c${shard}`] = countersOf(ledger!);
        values[`:r${shard}`] = revision;
        sets.push(`#c${shard} = :c${shard}`, `#r${shard} = :r${shard}`);
        // A newer copy written by the feed since the ledgers were read must not be replaced.
        conditions.push(`(attribute_not_exists(#r${shard}) OR #r${shard} <= :r${shard})`);
      }
      try {
        await doc.send(
          new UpdateCommand({
            TableName: statsTable,
            Key: { pk: summaryKey(index) },
            UpdateExpression: `SET ${sets.join(', ')}`,
            ...(conditions.length > 0 && { ConditionExpression: conditions.join(' AND ') }),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        );
        break;
      } catch (error) {
        if (!isConditionalCheckFailed(error) || attempt === 5) throw error;
        ledgers = await readLedgers(doc, statsTable);
      }
    }
  }
}
