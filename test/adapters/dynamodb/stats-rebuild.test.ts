import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDeviceRepository } from '../../../src/adapters/dynamodb/device-repository.js';
import { rebuildStats, recountStats, statsOf } from '../../../src/adapters/dynamodb/stats-rebuild.js';
import { DynamoDbStatsStore, ledgerKey, ledgerShardOf } from '../../../src/adapters/dynamodb/stats-store.js';
import { padSequence } from '../../../src/domain/change-sequence.js';
import type { DeviceStats } from '../../../src/domain/device.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../src/local/dynamodb/dynalite.js';
import { testDevice } from '../../domain/test-device.js';
import { startAnswerRewriter, startDynamoFixture, type AnswerRewriter, type DynamoFixture } from './dynamo-fixture.js';

const uuid = (n: number) => `00000000-0000-4000-9000-${String(n).padStart(12, '0')}`;

describe('rebuildStats on dynalite', () => {
  let fixture: DynamoFixture;
  let doc: DynamoDBDocumentClient;
  let recorder: AnswerRewriter;
  /** Every request this client sent: operation and the index it named. */
  const requests: Array<{ operation: string; index?: string; table?: string }> = [];

  beforeAll(async () => {
    fixture = await startDynamoFixture();
    // Requests are recorded on the wire, by a proxy in front of dynalite.
    recorder = await startAnswerRewriter(fixture.endpoint, (request, answer, headers) => {
      const input = JSON.parse(request) as { IndexName?: string; TableName?: string };
      requests.push({ operation: String(headers['x-amz-target']).replace(/^DynamoDB_20120810\./, ''), index: input.IndexName, table: input.TableName });
      return answer;
    });
    const client = new DynamoDBClient({ endpoint: recorder.url, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    doc = DynamoDBDocumentClient.from(client);
    // 30 devices: 10 ONLINE gateways, 20 OFFLINE sensors, counted by the projector as the feed would.
    const repository = new DynamoDbDeviceRepository(fixture.doc, fixture.devicesTable);
    const store = new DynamoDbStatsStore(fixture.doc, fixture.statsTable);
    for (let i = 0; i < 30; i += 1) {
      const device = testDevice(uuid(i), i < 10 ? { status: 'ONLINE', type: 'gateway' } : { status: 'OFFLINE', type: 'sensor' });
      await repository.create(device);
      await store.apply({ changeType: 'CREATED', device, changedAt: 'x', sequence: padSequence(100 + i) });
    }
  });
  afterAll(async () => {
    doc.destroy();
    await recorder.close();
    await fixture.stop();
  });

  const expected: DeviceStats = {
    total: 30,
    byStatus: { UNKNOWN: 0, ONLINE: 10, OFFLINE: 20, ERROR: 0, MAINTENANCE: 0 },
    byType: { gateway: 10, sensor: 20 },
  };

  it('recounts through the byStatus index, never a Scan', async () => {
    // Act
    requests.length = 0;
    const recount = statsOf(await recountStats(doc, fixture.devicesTable));

    // Assess
    expect(recount).toEqual(expected);
    expect(requests.map((r) => r.operation)).not.toContain('Scan');
    expect(requests.every((r) => r.operation === 'Query' && r.index === 'byStatus')).toBe(true);
  });

  it('corrects drifted counters, keeps the device markers, and serves the recount', async () => {
    // Prepare: a change counted for a device whose write was lost, and a counter drifted on a ledger
    const store = new DynamoDbStatsStore(fixture.doc, fixture.statsTable);
    await store.apply({ changeType: 'CREATED', device: testDevice(uuid(900), { status: 'ONLINE', type: 'gateway' }), changedAt: 'x', sequence: padSequence(900) });
    await fixture.doc.send(
      new UpdateCommand({
        TableName: fixture.statsTable,
        Key: { pk: ledgerKey(ledgerShardOf(uuid(3))) },
        UpdateExpression: 'ADD #o :two, rev :one',
        ExpressionAttributeNames: { '#o': 's_ERROR' },
        ExpressionAttributeValues: { ':two': 2, ':one': 1 },
      }),
    );
    const drifted = await store.read();

    // Act
    const result = await rebuildStats(doc, { devices: fixture.devicesTable, stats: fixture.statsTable });

    // Assess
    expect(drifted.total).toBe(31);
    expect(result.before).toEqual(drifted);
    expect(result.after).toEqual(expected);
    expect(result.correctedShards).toBe(new Set([ledgerShardOf(uuid(900)), ledgerShardOf(uuid(3))]).size);
    expect(await store.read()).toEqual(expected);
    // A change delivered again after the rebuild is still counted once (the marker survived).
    await store.apply({ changeType: 'CREATED', device: testDevice(uuid(3), { status: 'ONLINE', type: 'gateway' }), changedAt: 'x', sequence: padSequence(103) });
    expect(await store.read()).toEqual(expected);
  });

  it('never lets a reader see half a switch-over', async () => {
    // Prepare: 32 phantom devices counted on shards of every summary item
    const phantoms = new DynamoDbStatsStore(fixture.doc, fixture.statsTable);
    for (let i = 0; i < 32; i += 1) {
      await phantoms.apply({ changeType: 'CREATED', device: testDevice(uuid(2000 + i)), changedAt: 'x', sequence: padSequence(2000 + i) });
    }
    const store = new DynamoDbStatsStore(fixture.doc, fixture.statsTable);
    const seen = new Set<number>();
    let rebuilding = true;

    // Act: readers keep reading while the rebuild switches over
    const readers = (async () => {
      while (rebuilding) seen.add((await store.read()).total);
    })();
    await rebuildStats(doc, { devices: fixture.devicesTable, stats: fixture.statsTable });
    rebuilding = false;
    await readers;

    // Assess: every read saw either the whole drifted count or the whole recount
    expect([...seen].every((total) => total === 62 || total === 30)).toBe(true);
    expect(seen.has(30)).toBe(true);
    expect(await store.read()).toEqual(expected);
  });
});
