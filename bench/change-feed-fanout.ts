/**
 * The change-feed fan-out that each device-state write of the ingest path triggers, counted by
 * running the real code: the ingest handler's DynamoDbDeviceStateWriter writes through the
 * local change capture (the Streams stand-in) in front of dynalite, and the captured stream
 * records go, in event-source-shaped batches, to the real events handler with the real
 * DynamoDbStatsStore (dynalite) and the real AppSync and IoT change publishers (against the
 * bench's local HTTP sink). Middlewares count the stats writes, AppSync mutations and IoT
 * Publish calls with their payload sizes. Used by bench/ingest.ts.
 */
import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { toDeviceChange } from '../src/adapters/dynamodb/device-stream-record.js';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent, KinesisStreamEvent } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { keepAlivePost } from '../src/adapters/appsync/keep-alive-post.js';
import { AppSyncChangePublisher } from '../src/adapters/appsync/appsync-change-publisher.js';
import { createDocumentClient } from '../src/adapters/dynamodb/client.js';
import { DynamoDbDeviceStateWriter } from '../src/adapters/dynamodb/device-state-writer.js';
import { toDeviceItem } from '../src/adapters/dynamodb/device-item.js';
import { DynamoDbStatsStore } from '../src/adapters/dynamodb/stats-store.js';
import { DEVICES_TABLE } from '../src/contracts/tables.js';
import { IotChangePublisher } from '../src/adapters/iot/iot-change-publisher.js';
import { InMemoryDeadLetterQueue } from '../src/adapters/sqs/in-memory-dead-letter-queue.js';
import { createEventsHandler, EVENTS_DEVICE_CONCURRENCY } from '../src/change-feed/events-handler.js';
import { WATCH_SECONDS, WATCHED_UNTIL_ATTRIBUTE } from '../src/contracts/live-updates.js';
import type { ChangePublisher } from '../src/ports/change-feed.js';
import { createIngestHandler } from '../src/devices/ingest-handler.js';
import { capturedTables, startChangeCapture } from '../src/local/dynamodb/change-capture.js';
import { ensureTables, LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames, startDynalite } from '../src/local/dynamodb/dynalite.js';

/** Records per events invocation (lib/change-feed.ts batchSize). */
export const EVENTS_BATCH_SIZE = 100;
/**
 * Shards of the Devices table's stream: one per table partition. Assumed (AWS does not
 * publish it): a few partitions for a 10,000-item on-demand table at ~190 writes/s.
 */
export const DEVICES_STREAM_SHARDS = 4;
/** gRPC tasks subscribed to the change topic filter (lib/device-service.ts minTasks default). */
export const GRPC_TASKS = 2;
/** Modelled round trip of one publish (AppSync mutation and IoT Publish run in parallel). */
export const PUBLISH_MS = 25;
/** Modelled round trip of one DynamoDB write. */
const DYNAMO_MS = 5;

/** What the fan-out of one setting cost, counted. */
export interface FanOutCounts {
  readonly invocations: number;
  /** Billed Lambda milliseconds: measured against the local stand-ins + modelled service latency. */
  readonly billedMs: number;
  /** The same batches if each record were processed one after another (the previous handler). */
  readonly sequentialModelledMs: number;
  readonly statsWrites: number;
  readonly appSyncMutations: number;
  /** publishTelemetryBatch mutations (of appSyncMutations). */
  readonly appSyncBatchMutations: number;
  /** Real-time messages (5 KB units) to one subscriber of every device (deviceUpdated and telemetryUpdated). */
  readonly allDevicesSubscriberUnits: number;
  /** Real-time messages (5 KB units) to one subscriber of the watched device (deviceUpdated(id)). */
  readonly singleDeviceSubscriberUnits: number;
  /** IoT Publish calls in 5 KB billing units. */
  readonly iotPublishUnits: number;
  readonly iotPublishCalls: number;
  readonly failures: number;
}

/** The counted fan-out of the stream records that `batches` produce, with live telemetry on and off. */
export interface FanOutResult {
  /** Ingest messages the counted batches carried. */
  readonly messages: number;
  /** Stream records captured (device-state changes). */
  readonly changes: number;
  /** Of which telemetry only (version unchanged). */
  readonly telemetryOnly: number;
  /** The default: telemetry-only changes in one batch per invocation. */
  readonly live: FanOutCounts;
  /** Every change published one by one (the previous design), same records. */
  readonly perChange: FanOutCounts;
  readonly quiet: FanOutCounts;
}

/** The stream shard an item's records land on (DynamoDB's partition hash is internal: MD5 stands in). */
function streamShardOf(id: string): number {
  return createHash('md5').update(id).digest().readUInt32BE(0) % DEVICES_STREAM_SHARDS;
}

/**
 * Runs the ingest state writes of `batches` through the change capture, then the events handler
 * over the captured records three times: batching telemetry-only changes (the default), each
 * change one by one (the per-change design), and not publishing them at all. The first device is
 * watched by a single-device subscriber (its item carries the watch mark, as subscribing writes it).
 */
export async function countChangeFeedFanOut(batches: readonly KinesisStreamEvent[], sinkEndpoint: string): Promise<FanOutResult> {
  const dynamo = await startDynalite();
  const names = localTableNames('bench-');
  await ensureTables(dynamo.endpoint, names);
  // Per ingest batch: its stream records arrive as one burst (the batch's writes take well under a second).
  const bursts: DynamoDBRecord[][] = [];
  let current: DynamoDBRecord[] = [];
  const capture = await startChangeCapture({
    upstream: dynamo.endpoint,
    tables: capturedTables([DEVICES_TABLE], { Devices: names.Devices! }),
    onRecord: (record) => current.push(record),
  });
  const local = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const captured = createDocumentClient({ endpoint: capture.endpoint, ...local });
  const direct = createDocumentClient({ endpoint: dynamo.endpoint, ...local });
  let statsWrites = 0;
  direct.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'UpdateItemCommand') statsWrites += 1;
      return next(args);
    },
    { step: 'build', name: 'benchCountStats' },
  );
  const base = { endpoint: sinkEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, maxAttempts: 1 };
  const iot = new IoTDataPlaneClient(base);
  let iotCalls = 0;
  let iotUnits = 0;
  iot.middlewareStack.add(
    (next) => async (args) => {
      const payload = (args.input as { payload?: Uint8Array }).payload;
      iotCalls += 1;
      iotUnits += Math.max(1, Math.ceil((payload?.byteLength ?? 0) / 5120));
      return next(args);
    },
    { step: 'build', name: 'benchCountIot' },
  );
  let mutations = 0;
  let batchMutations = 0;
  let allUnits = 0;
  let singleUnits = 0;
  let watchedId = '';
  const units = (bytes: number) => Math.max(1, Math.ceil(bytes / 5120));
  const post = keepAlivePost();
  const appSync = new AppSyncChangePublisher({
    url: `${sinkEndpoint}/graphql`,
    region: 'us-east-1',
    credentials: base.credentials,
    post: async (url, headers, body) => {
      mutations += 1;
      // What subscribers receive is the mutation's selection of its input: the input's size.
      const { variables } = JSON.parse(String(body)) as { variables: { input: { id?: string; items?: unknown[] } } };
      const delivered = units(Buffer.byteLength(JSON.stringify(variables.input)));
      if (variables.input.items) batchMutations += 1;
      allUnits += delivered;
      if (variables.input.id === watchedId) singleUnits += delivered;
      return post(url, headers, body);
    },
  });

  try {
    // The registry items of the slice's devices, as CORE writes them, seeded past the capture.
    const ids = [...new Set(batches.flatMap((b) => b.Records.map((r) => r.kinesis.partitionKey)))];
    watchedId = ids[0]!;
    const raw = new DynamoDBClient({ endpoint: dynamo.endpoint, ...local });
    const at = new Date(Date.now() - 86_400_000).toISOString();
    for (let i = 0; i < ids.length; i += 25) {
      const items = ids.slice(i, i + 25).map((id, j) =>
        toDeviceItem({
          id, name: `Boiler room sensor ${i + j}`, type: 'thermostat', status: 'ONLINE', createdAt: at, updatedAt: at, version: 3,
          metadata: { site: 'plant-7', floor: '2', firmware: '4.2.1' }, readings: {},
        }),
      ).map((item) => (item.id === watchedId ? { ...item, [WATCHED_UNTIL_ATTRIBUTE]: Math.floor(Date.now() / 1000) + WATCH_SECONDS } : item));
      await raw.send(new BatchWriteItemCommand({ RequestItems: { [names.Devices!]: items.map((item) => ({ PutRequest: { Item: marshall(item, { removeUndefinedValues: true }) } })) } }));
    }
    raw.destroy();

    const ingest = createIngestHandler({
      devices: new DynamoDbDeviceStateWriter(captured, names.Devices!),
      telemetry: { write: async () => ({ rejected: [] }) },
      deadLetters: new InMemoryDeadLetterQueue(),
    });
    for (const batch of batches) {
      await ingest(batch);
      bursts.push(current);
      current = [];
    }

    // The event source: per stream shard, batches of up to EVENTS_BATCH_SIZE in sequence order.
    const events: DynamoDBStreamEvent[] = [];
    for (const burst of bursts) {
      const shards = new Map<number, DynamoDBRecord[]>();
      for (const record of burst) {
        const shard = streamShardOf(record.dynamodb?.Keys?.id?.S ?? '');
        const records = shards.get(shard) ?? [];
        records.push({ ...record, eventSourceARN: `${record.eventSourceARN ?? ''}/shard-${shard}` });
        shards.set(shard, records);
      }
      for (const records of shards.values()) {
        for (let i = 0; i < records.length; i += EVENTS_BATCH_SIZE) events.push({ Records: records.slice(i, i + EVENTS_BATCH_SIZE) });
      }
    }
    const changes = bursts.reduce((n, b) => n + b.length, 0);
    const version = (image: unknown) => (image as Record<string, { N?: string }> | undefined)?.version?.N;
    const telemetryOnly = bursts.flat().filter((r) => r.eventName === 'MODIFY' && version(r.dynamodb?.NewImage) === version(r.dynamodb?.OldImage)).length;

    const iotPublisher = new IotChangePublisher(iot);
    const run = async (publishTelemetryChanges: boolean, statsTable: string, batching: boolean): Promise<FanOutCounts> => {
      statsWrites = 0;
      iotCalls = 0;
      iotUnits = 0;
      mutations = 0;
      batchMutations = 0;
      allUnits = 0;
      singleUnits = 0;
      // The per-change design: the same publishers without their batch method.
      const oneByOne = (publisher: ChangePublisher): ChangePublisher => ({ publish: (change) => publisher.publish(change) });
      const handler = createEventsHandler({
        toChange: toDeviceChange,
        stats: new DynamoDbStatsStore(direct, statsTable),
        publishers: batching ? [appSync, iotPublisher] : [oneByOne(appSync), oneByOne(iotPublisher)],
        publishTelemetryChanges,
      });
      let billedMs = 0;
      let sequentialModelledMs = 0;
      let failures = 0;
      for (const event of events) {
        const statsBefore = statsWrites;
        const publishedBefore = mutations;
        const batchesBefore = batchMutations;
        const t = performance.now();
        const response = await handler(event);
        const measured = performance.now() - t;
        failures += response.batchItemFailures.length;
        // Modelled service latency: devices run EVENTS_DEVICE_CONCURRENCY at a time, a device's records one after another.
        const perDevice = new Map<string, number>();
        for (const r of event.Records) perDevice.set(r.dynamodb?.Keys?.id?.S ?? '', (perDevice.get(r.dynamodb?.Keys?.id?.S ?? '') ?? 0) + 1);
        const chain = Math.max(...perDevice.values());
        const batchRounds = batchMutations - batchesBefore;
        const published = mutations - publishedBefore - batchRounds;
        const perRecordMs = (published > 0 ? PUBLISH_MS * (published / event.Records.length) : 0) + DYNAMO_MS * ((statsWrites - statsBefore) / event.Records.length);
        // The batch publish runs once after the devices (AppSync and IoT in parallel, as above).
        billedMs += Math.ceil(measured + Math.ceil(perDevice.size / EVENTS_DEVICE_CONCURRENCY) * chain * perRecordMs + batchRounds * PUBLISH_MS);
        sequentialModelledMs += event.Records.length * perRecordMs;
      }
      return {
        invocations: events.length, billedMs, sequentialModelledMs, statsWrites, appSyncMutations: mutations, appSyncBatchMutations: batchMutations,
        allDevicesSubscriberUnits: allUnits, singleDeviceSubscriberUnits: singleUnits, iotPublishUnits: iotUnits, iotPublishCalls: iotCalls, failures,
      };
    };
    const live = await run(true, names.Stats!, true);
    const perChange = await run(true, names.Stats!, false);
    const quiet = await run(false, names.Stats!, true);
    return { messages: batches.reduce((n, b) => n + b.Records.length, 0), changes, telemetryOnly, live, perChange, quiet };
  } finally {
    captured.destroy();
    direct.destroy();
    iot.destroy();
    await capture.stop();
    await dynamo.stop();
  }
}
