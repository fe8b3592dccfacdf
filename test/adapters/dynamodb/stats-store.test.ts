import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoDbStatsStore,
  STATS_LEDGER_SHARDS,
  STATS_SUMMARY_ITEMS,
  ledgerKey,
  ledgerShardOf,
  statsItemsForFleet,
  summaryKey,
} from '../../../src/adapters/dynamodb/stats-store.js';
import { padSequence } from '../../../src/domain/change-sequence.js';
import type { DeviceChange } from '../../../src/domain/device-change.js';
import { testDevice as device } from '../../domain/test-device.js';
import { startDynamoFixture, type DynamoFixture } from './dynamo-fixture.js';

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('DynamoDbStatsStore on dynalite', () => {
  let fixture: DynamoFixture;

  beforeAll(async () => {
    fixture = await startDynamoFixture();
  });
  afterAll(async () => {
    await fixture.stop();
  });

  it('counts every change once when every change is applied twice', async () => {
    // Prepare
    const store = new DynamoDbStatsStore(fixture.doc, fixture.statsTable);
    const changes: DeviceChange[] = [];
    for (let i = 0; i < 20; i++) {
      const id = uuid(i);
      changes.push({ changeType: 'CREATED', device: device(id), changedAt: 'x', sequence: padSequence(1000 + i * 10) });
      const online = device(id, { status: 'ONLINE', type: 'gateway', version: 2 });
      if (i % 2) changes.push({ changeType: 'UPDATED', device: online, previous: device(id), changedAt: 'x', sequence: padSequence(1001 + i * 10) });
      if (i % 5 === 0) changes.push({ changeType: 'DELETED', device: i % 2 ? online : device(id), changedAt: 'x', sequence: padSequence(1002 + i * 10) });
    }

    // Act
    for (const change of changes) await store.apply(change);
    for (const change of changes) await store.apply(change);
    const stats = await store.read();

    // Assess: 20 created, 4 deleted (0, 5, 10, 15; 5 and 15 were ONLINE gateways), 10 became ONLINE gateways.
    expect(stats.total).toBe(16);
    expect(stats.byStatus).toEqual({ UNKNOWN: 0, ONLINE: 8, OFFLINE: 8, ERROR: 0, MAINTENANCE: 0 });
    expect(stats.byType).toEqual({ gateway: 8, sensor: 8 });
  });

  it('writes nothing for a change that only touches telemetry', async () => {
    // Prepare
    const store = new DynamoDbStatsStore(fixture.doc, fixture.statsTable);
    const id = uuid(999);
    await store.apply({ changeType: 'CREATED', device: device(id), changedAt: 'x', sequence: padSequence(5) });
    const shard = ledgerShardOf(id);
    const items = async () =>
      Promise.all(
        [ledgerKey(shard), summaryKey(shard % STATS_SUMMARY_ITEMS)].map(
          async (pk) => (await fixture.doc.send(new GetCommand({ TableName: fixture.statsTable, Key: { pk } }))).Item,
        ),
      );
    const before = await items();

    // Act
    await store.apply({
      changeType: 'UPDATED',
      device: device(id, { lastSeen: '2026-01-02T00:00:00.000Z', readings: { t: 21 } }),
      previous: device(id),
      changedAt: 'x',
      sequence: padSequence(6),
    });

    // Assess
    expect(await items()).toEqual(before);
    expect(before[0]?.[`seq_${id}`]).toBe(padSequence(5));
  });

  it('catches the summary up when a redelivered change finds its ledger write already done', async () => {
    // Prepare: a change counted on the ledger whose summary copy was lost (as if the process died in between).
    const store = new DynamoDbStatsStore(fixture.doc, fixture.statsTable);
    const id = uuid(4242);
    const change: DeviceChange = { changeType: 'CREATED', device: device(id, { type: 'lost-copy' }), changedAt: 'x', sequence: padSequence(9) };
    await store.apply(change);
    const shard = ledgerShardOf(id);
    await fixture.doc.send(
      new UpdateCommand({
        TableName: fixture.statsTable,
        Key: { pk: summaryKey(shard % STATS_SUMMARY_ITEMS) },
        UpdateExpression: 'REMOVE #c, #r',
        ExpressionAttributeNames: { '#c': `c_${shard}`, '#r': `r_${shard}` },
      }),
    );
    const lost = await store.read();

    // Act
    await store.apply(change);

    // Assess
    expect(lost.byType['lost-copy']).toBeUndefined();
    expect((await store.read()).byType['lost-copy']).toBe(1);
  });

  it('spreads devices over every ledger shard, and the shards over every summary item', () => {
    // Act
    const shards = new Set(Array.from({ length: 5000 }, (_, i) => ledgerShardOf(uuid(i))));

    // Assess
    expect(shards.size).toBe(STATS_LEDGER_SHARDS);
    expect(new Set([...shards].map((s) => s % STATS_SUMMARY_ITEMS)).size).toBe(STATS_SUMMARY_ITEMS);
  });

  it('refuses a change whose sequence is not padded', async () => {
    // Prepare
    const store = new DynamoDbStatsStore(fixture.doc, fixture.statsTable);

    // Act / Assess
    await expect(store.apply({ changeType: 'CREATED', device: device(uuid(1)), changedAt: 'x', sequence: '12' })).rejects.toThrow(/unpadded/);
  });
});

describe('statsItemsForFleet', () => {
  let fixture: DynamoFixture;

  beforeAll(async () => {
    fixture = await startDynamoFixture();
  });
  afterAll(async () => {
    await fixture.stop();
  });

  it('builds exactly the items the projector leaves after creating the same fleet', async () => {
    // Prepare
    const store = new DynamoDbStatsStore(fixture.doc, fixture.statsTable);
    const statuses = ['ONLINE', 'OFFLINE', 'ERROR'] as const;
    const fleet = Array.from({ length: 300 }, (_, i) => device(uuid(10_000 + i), { type: i % 3 ? 'sensor' : 'gateway', status: statuses[i % 3]! }));
    const sequence = padSequence(77);
    await Promise.all(fleet.map((d) => store.apply({ changeType: 'CREATED', device: d, changedAt: 'x', sequence })));

    // Act
    const built = statsItemsForFleet(fleet, sequence);

    // Assess
    const stored = await Promise.all(
      built.map(async (item) => (await fixture.doc.send(new GetCommand({ TableName: fixture.statsTable, Key: { pk: item.pk } }))).Item),
    );
    expect(stored).toEqual(built);
    expect((await store.read()).total).toBe(300);
  });
});
