/**
 * One device cannot hurt another: a device that keeps inventing metric names shares a shard
 * with a well-behaved one; the ingest handler runs behind the local Kinesis stand-in on dynalite.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { KinesisStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { DynamoDbDeviceStateWriter } from '../../src/adapters/dynamodb/device-state-writer.js';
import { DEVICES_TABLE, TELEMETRY_TABLE } from '../../src/contracts/tables.js';
import { InMemoryDeadLetterQueue } from '../../src/adapters/sqs/in-memory-dead-letter-queue.js';
import { DynamoDbTelemetryStore } from '../../src/adapters/telemetry/dynamodb-telemetry-store.js';
import { createIngestHandler } from '../../src/devices/ingest-handler.js';
import { DEFAULT_TELEMETRY_LIMITS } from '../../src/devices/telemetry-message.js';
import { KinesisBatcher } from '../../src/local/event-source-mapping/kinesis-batcher.js';
import { seedDevice, telemetryJson } from './ingest-helpers.js';
import { useLocalDynamo } from '../support/local-dynamo.js';

const dynamo = useLocalDynamo({ tables: [DEVICES_TABLE, TELEMETRY_TABLE], prefix: 'jam-' });
const devicesTable = dynamo.table(DEVICES_TABLE);
const telemetryTable = dynamo.table(TELEMETRY_TABLE);
const NOW = Date.now();

const envelope = (thingName: string, payload: string) =>
  JSON.stringify({ payload: Buffer.from(payload).toString('base64'), thingName, clientId: thingName, receivedAt: NOW });

describe('a device inventing metric names', () => {
  it("is bounded and dead-lettered alone: the other device's readings are never more than one batch late", async () => {
    // Prepare
    const offender = await seedDevice(dynamo.doc, devicesTable);
    const neighbour = await seedDevice(dynamo.doc, devicesTable);
    const deadLetters = new InMemoryDeadLetterQueue();
    const store = new DynamoDbTelemetryStore(dynamo.doc, telemetryTable);
    const ingest = createIngestHandler({ devices: new DynamoDbDeviceStateWriter(dynamo.doc, devicesTable), telemetry: store, deadLetters });
    const lateness: number[] = [];
    let newestSent = 0;
    const failures: string[] = [];
    const handler = async (event: KinesisStreamEvent) => {
      const response = await ingest(event);
      failures.push(...response.batchItemFailures.map((f) => f.itemIdentifier));
      // After each batch: the neighbour's stored state holds the newest reading of that batch.
      const seqs = event.Records.flatMap((r) => {
        const { thingName, payload } = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString()) as { thingName: string; payload: string };
        return thingName === neighbour ? [(JSON.parse(Buffer.from(payload, 'base64').toString()) as { seq: number }).seq] : [];
      });
      if (seqs.length > 0) {
        const item = (await dynamo.doc.send(new GetCommand({ TableName: devicesTable, Key: { id: neighbour }, ConsistentRead: true }))).Item!;
        lateness.push(Math.max(...seqs) - (item.readings as { seq: number }).seq);
      }
      return response;
    };
    const batcher = new KinesisBatcher({ settings: { batchSize: 10, batchWindowSeconds: 0.05 }, handler });

    // Act: 50 messages of 100 new names each, interleaved with the neighbour's normal telemetry
    for (let i = 1; i <= 50; i += 1) {
      const metrics = Object.fromEntries(Array.from({ length: 100 }, (_, j) => [`m${i}_${j}`, j]));
      batcher.put(offender, envelope(offender, telemetryJson(i, NOW + i, metrics)));
      batcher.put(neighbour, envelope(neighbour, telemetryJson(i, NOW + i, { seq: i, t: 20 + i / 10 })));
      newestSent = i;
      if (i % 5 === 0) await batcher.flush();
    }
    await batcher.stop();

    // Assess
    const cap = DEFAULT_TELEMETRY_LIMITS.maxReadings;
    const surplus = 50 - cap / 100;
    expect(failures).toEqual([]);
    expect(lateness.length).toBeGreaterThan(0);
    expect(lateness.every((late) => late === 0)).toBe(true);
    const neighbourItem = (await dynamo.doc.send(new GetCommand({ TableName: devicesTable, Key: { id: neighbour }, ConsistentRead: true }))).Item!;
    expect(neighbourItem.readings).toMatchObject({ seq: newestSent });
    const offenderItem = (await dynamo.doc.send(new GetCommand({ TableName: devicesTable, Key: { id: offender }, ConsistentRead: true }))).Item!;
    expect(Object.keys(offenderItem.readings as object)).toHaveLength(cap);
    const letters = deadLetters.letters;
    expect(letters).toHaveLength(surplus);
    expect(letters.every((l) => l.reason === 'READINGS_LIMIT' && l.thingName === offender)).toBe(true);
    expect(new Set(letters.map((l) => l.sequenceNumber)).size).toBe(surplus);
    expect(batcher.stats()).toMatchObject({ put: 100, delivered: 100, discarded: 0 });
    const neighbourPoints = await store.query({ deviceId: neighbour, metric: 't', from: NOW - 1, to: NOW + 100, limit: 100 });
    expect(neighbourPoints.items).toHaveLength(50);
  });

  it('dead-letters a record whose state write passes the item size limit, without retrying it', async () => {
    // Prepare
    const heavy = await seedDevice(dynamo.doc, devicesTable, { metadata: { notes: 'x'.repeat(407_000) } });
    const neighbour = await seedDevice(dynamo.doc, devicesTable);
    const deadLetters = new InMemoryDeadLetterQueue();
    let invocations = 0;
    const ingest = createIngestHandler({
      devices: new DynamoDbDeviceStateWriter(dynamo.doc, devicesTable),
      telemetry: new DynamoDbTelemetryStore(dynamo.doc, telemetryTable),
      deadLetters,
    });
    const batcher = new KinesisBatcher({
      settings: { batchSize: 10, batchWindowSeconds: 0.01 },
      handler: async (event) => {
        invocations += 1;
        return ingest(event);
      },
    });

    // Act
    batcher.put(heavy, envelope(heavy, telemetryJson(1, NOW, { note: 'y'.repeat(1_000), more: 'z'.repeat(1_000), extra: 'w'.repeat(1_000), last: 'v'.repeat(1_000) })));
    batcher.put(neighbour, envelope(neighbour, telemetryJson(1, NOW, { t: 1 })));
    await batcher.stop();

    // Assess
    expect(invocations).toBe(1);
    expect(deadLetters.letters.map((l) => [l.reason, l.thingName])).toEqual([['ITEM_TOO_LARGE', heavy]]);
    const item = (await dynamo.doc.send(new GetCommand({ TableName: devicesTable, Key: { id: neighbour }, ConsistentRead: true }))).Item!;
    expect(item.readings).toEqual({ t: 1 });
  });
});
