/**
 * Registry read cost at two fleet sizes (npm run bench:registry).
 *
 * Seeds dynalite with 100 and with 10,000 devices (separate tables, same dynalite; counters
 * through the real projector for the small fleet, the identical items in bulk for the large
 * one), then measures what `stats` and the first
 * page of `devices` (limit 25) read: items returned by DynamoDB (Query Count + BatchGetItem
 * responses) and the read units dynalite reports. The baseline is the 100-device fleet; the
 * 10k/100 ratio of items must be about 1. For contrast it also prints what counting the fleet
 * through the index would read (a Query with Select COUNT: grows with the fleet).
 */
import { BatchWriteCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { createDocumentClient } from '../src/adapters/dynamodb/client.js';
import { LIST_PK, toDeviceItem } from '../src/adapters/dynamodb/device-item.js';
import { DynamoDbDeviceRepository } from '../src/adapters/dynamodb/device-repository.js';
import { DynamoDbStatsStore, statsItemsForFleet } from '../src/adapters/dynamodb/stats-store.js';
import { padSequence } from '../src/domain/change-sequence.js';
import { DEVICE_STATUSES, type Device } from '../src/domain/device.js';
import { DeviceRegistry } from '../src/domain/device-registry.js';
import { createPageTokenCodec } from '../src/domain/page-token.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, ensureTables, localTableNames, startDynalite } from '../src/local/dynamodb/dynalite.js';

/** Fleet sizes; the first is the baseline. BENCH_LARGE_FLEET overrides the second (quick local runs). */
const SIZES = [100, Number(process.env.BENCH_LARGE_FLEET ?? 10_000)] as const;
const PAGE_SIZE = 25;
const TYPES = ['sensor', 'gateway', 'camera', 'meter'];
const CONCURRENCY = 16;
/** Fleets up to this size get their counters through the projector; larger ones in bulk. */
const PROJECTED_FLEET_LIMIT = 1000;

/** What the wrapped client saw DynamoDB return. */
interface ReadMeter {
  items: number;
  readUnits: number;
  requests: number;
}

/** Counts items returned and read units consumed by every request through `doc`. */
function meter(doc: DynamoDBDocumentClient): ReadMeter {
  const totals: ReadMeter = { items: 0, readUnits: 0, requests: 0 };
  doc.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const output = result.output as {
        Count?: number;
        Item?: unknown;
        Responses?: Record<string, unknown[]>;
        ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[];
      };
      totals.requests += 1;
      if (typeof output.Count === 'number') totals.items += output.Count;
      if (output.Item) totals.items += 1;
      for (const items of Object.values(output.Responses ?? {})) totals.items += items.length;
      const capacity = Array.isArray(output.ConsumedCapacity) ? output.ConsumedCapacity : output.ConsumedCapacity ? [output.ConsumedCapacity] : [];
      for (const c of capacity) totals.readUnits += c.CapacityUnits ?? 0;
      return result;
    },
    { step: 'initialize', name: 'benchReadMeter' },
  );
  return totals;
}

async function measure(totals: ReadMeter, act: () => Promise<unknown>): Promise<ReadMeter> {
  const before = { ...totals };
  await act();
  return { items: totals.items - before.items, readUnits: totals.readUnits - before.readUnits, requests: totals.requests - before.requests };
}

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let index = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (index < items.length) await work(items[index++]!);
    }),
  );
}

/** BatchWriteItem in chunks of 25, CONCURRENCY requests at a time, retrying unprocessed items. */
async function batchWrite(doc: DynamoDBDocumentClient, tableName: string, items: readonly object[]): Promise<void> {
  const chunks: object[][] = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  await inParallel(chunks, CONCURRENCY, async (chunk) => {
    let pending: unknown[] = chunk.map((item) => ({ PutRequest: { Item: item } }));
    while (pending.length > 0) {
      const result = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }));
      pending = result.UnprocessedItems?.[tableName] ?? [];
    }
  });
}

async function seed(
  doc: DynamoDBDocumentClient,
  devicesTable: string,
  statsTable: string,
  stats: DynamoDbStatsStore,
  size: number,
): Promise<{ writeMs: number; projectMs: number }> {
  const began = Date.now();
  const start = Date.UTC(2026, 0, 1);
  const devices: Device[] = Array.from({ length: size }, (_, i) => {
    const at = new Date(start + i * 1000).toISOString();
    return {
      id: randomUUID(),
      name: `bench device ${i}`,
      type: TYPES[i % TYPES.length]!,
      status: DEVICE_STATUSES[1 + (i % 4)]!,
      createdAt: at,
      updatedAt: at,
      metadata: { site: `site-${i % 50}`, rack: String(i % 7) },
      version: 1,
      readings: { temperature: 20 + (i % 10), ok: true },
    };
  });
  await batchWrite(doc, devicesTable, devices.map((d) => toDeviceItem(d)));
  const written = Date.now();
  const sequence = padSequence(1);
  if (size <= PROJECTED_FLEET_LIMIT) {
    // Small fleet: the counters go through the real projector, as the events Lambda keeps them.
    const changes = devices.map((device) => ({ changeType: 'CREATED' as const, device, changedAt: device.createdAt, sequence }));
    await inParallel(changes, CONCURRENCY, (change) => stats.apply(change));
  } else {
    // Large fleet: the same items built in memory (a test proves they equal the projector's), bulk-written.
    await batchWrite(doc, statsTable, statsItemsForFleet(devices, sequence));
  }
  return { writeMs: written - began, projectMs: Date.now() - written };
}

async function main(): Promise<void> {
  const began = Date.now();
  const dynamo = await startDynalite();
  const doc = createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const totals = meter(doc);
  const rows: { size: number; stats: ReadMeter; page: ReadMeter; count: ReadMeter; statsTotal: number; pageItems: number }[] = [];
  try {
    for (const size of SIZES) {
      const names = localTableNames(`bench${size}-`);
      await ensureTables(dynamo.endpoint, names);
      const statsStore = new DynamoDbStatsStore(doc, names.Stats!);
      const seededAt = Date.now();
      const { writeMs, projectMs } = await seed(doc, names.Devices!, names.Stats!, statsStore, size);
      process.stdout.write(
        `seeded ${size} devices in ${((Date.now() - seededAt) / 1000).toFixed(1)} s (devices ${(writeMs / 1000).toFixed(1)} s, counters ${(projectMs / 1000).toFixed(1)} s ${size <= PROJECTED_FLEET_LIMIT ? 'through the projector' : 'in bulk'})\n`,
      );
      const registry = new DeviceRegistry({
        repository: new DynamoDbDeviceRepository(doc, names.Devices!),
        stats: statsStore,
        pageTokens: createPageTokenCodec('bench-registry-secret-0123456789'),
      });
      let statsTotal = 0;
      let pageItems = 0;
      const stats = await measure(totals, async () => {
        statsTotal = (await registry.stats()).total;
      });
      // The page alone, without the `total` the listing also reads from the counters.
      const repository = new DynamoDbDeviceRepository(doc, names.Devices!);
      const page = await measure(totals, async () => {
        pageItems = (await repository.list({ limit: PAGE_SIZE })).items.length;
      });
      const count = await measure(totals, async () => {
        let start: Record<string, unknown> | undefined;
        do {
          const result = await doc.send(
            new QueryCommand({
              TableName: names.Devices!,
              IndexName: 'byCreated',
              KeyConditionExpression: 'listPk = :pk',
              ExpressionAttributeValues: { ':pk': LIST_PK },
              Select: 'COUNT',
              ...(start && { ExclusiveStartKey: start }),
            }),
          );
          start = result.LastEvaluatedKey;
        } while (start);
      });
      rows.push({ size, stats, page, count, statsTotal, pageItems });
    }
  } finally {
    doc.destroy();
    await dynamo.stop();
  }

  const [small, large] = rows as [(typeof rows)[number], (typeof rows)[number]];
  const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : (a / b).toFixed(2));
  const line = (label: string, pick: (r: (typeof rows)[number]) => ReadMeter) => {
    const a = pick(small);
    const b = pick(large);
    return [
      label.padEnd(34),
      `${a.items}`.padStart(8),
      `${b.items}`.padStart(8),
      ratio(b.items, a.items).padStart(7),
      `${a.readUnits}`.padStart(9),
      `${b.readUnits}`.padStart(9),
      ratio(b.readUnits, a.readUnits).padStart(7),
      `${a.requests}/${b.requests}`.padStart(9),
    ].join(' ');
  };
  console.log('');
  console.log(`Registry read cost, dynalite in memory; baseline = the ${small.size}-device fleet`);
  console.log(`stats.total read back: ${small.statsTotal} and ${large.statsTotal}; first page: ${small.pageItems} and ${large.pageItems} devices`);
  console.log(
    ['what'.padEnd(34), 'items@100'.padStart(8), 'items@10k'.padStart(8), 'ratio'.padStart(7), 'RCU@100'.padStart(9), 'RCU@10k'.padStart(9), 'ratio'.padStart(7), 'requests'.padStart(9)].join(' '),
  );
  console.log(line('stats (BatchGetItem, 16 summaries)', (r) => r.stats));
  console.log(line(`devices first page (limit ${PAGE_SIZE})`, (r) => r.page));
  console.log(line('contrast: count via index (grows)', (r) => r.count));
  const itemsRatio = Math.max(large.stats.items / small.stats.items, large.page.items / small.page.items);
  console.log(`items ratio 10k/100: stats ${ratio(large.stats.items, small.stats.items)}, first page ${ratio(large.page.items, small.page.items)} -> ${itemsRatio <= 1.1 ? 'constant (about 1)' : 'GROWS WITH THE FLEET'}`);
  console.log(`finished in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  if (itemsRatio > 1.1) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
