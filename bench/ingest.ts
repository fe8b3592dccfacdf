/**
 * npm run bench:ingest — what the ingest design costs per million messages, from counted calls.
 *
 * Fleet: 10,000 devices x 1 message / 10 s (1,000 msg/s, 2.59 billion a month). The stream has
 * DEFAULT_INGEST_SHARD_COUNT shards; devices land on shards by the MD5 of their partition key,
 * as Kinesis does. One shard is simulated (a representative slice: each shard sees the same
 * rate and the same per-device pattern) for `--minutes` of stream time, with the event source's
 * semantics (default 8 min, `--minutes=N`): a batch closes at batchSize records, after batchWindowSeconds, or at 6 MB. The real
 * handler and adapters run against a local HTTP sink in a child process (so this process's CPU
 * time is the handler's and the SDK's); SDK middlewares count every call and compute the billed
 * units from the requests themselves (DynamoDB item sizes, Timestream bytes per request, Kinesis
 * records). Counts per message are then scaled to one million.
 *
 * The same batches run a second time with the DynamoDB telemetry store (the store every account
 * can use) against a real Telemetry table (dynalite, in the sink's process), every call asking
 * for ReturnConsumedCapacity (bench/telemetry-capacity.ts): chunk writes, the per-batch read of
 * each device group's rollup state, and (in a pass of its own, 67 simulated minutes from an
 * hour's start) the hourly rollup of a full hour: consistent reads of the raw chunks plus the
 * MINUTE/HOUR/DAY rollup writes. `--group-bits=N` / `--chunk-bytes=N` try other packings.
 *
 * The naive design (rule → one Lambda invocation per message → one PutItem + one WriteRecords)
 * runs the same way on a sample of the same messages.
 *
 * Every device-state write is also a Devices stream record, which the change feed fans out live
 * (bench/change-feed-fanout.ts): the state writes of the first `--feed=N` batches (default 2) run
 * through the local change capture and the real events handler three ways: telemetry-only
 * changes in one batch per invocation (the default), every change one by one (the per-change
 * design), and live telemetry off (`-c liveTelemetryUpdates=false`), each with one subscriber of
 * every device and one of a single device. The last two lines compare the default with the
 * per-change design, both measured in this run.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { TimestreamWriteClient, WriteRecordsCommand } from '@aws-sdk/client-timestream-write';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { fork } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DynamoDbDeviceStateWriter } from '../src/adapters/dynamodb/device-state-writer.js';
import { InMemoryDeadLetterQueue } from '../src/adapters/sqs/in-memory-dead-letter-queue.js';
import { SqsDeadLetterQueue } from '../src/adapters/sqs/sqs-dead-letter-queue.js';
import { DynamoDbTelemetryStore, telemetryGroup, telemetryGroupKey, telemetryPartitionKey, telemetrySortKey } from '../src/adapters/telemetry/dynamodb-telemetry-store.js';
import { TELEMETRY_TABLE } from '../src/contracts/tables.js';
import { ensureTables, startDynalite } from '../src/local/dynamodb/dynalite.js';
import { capacityCountingClient, total } from './telemetry-capacity.js';
import { TimestreamTelemetryStore } from '../src/adapters/telemetry/timestream-telemetry-store.js';
import type { DeviceStateWriter } from '../src/ports/device-state-writer.js';
import type { TelemetryPoint, TelemetryWriter } from '../src/ports/telemetry-store.js';
import { createIngestHandler } from '../src/devices/ingest-handler.js';
import { DEFAULT_INGEST_SETTINGS, DEFAULT_INGEST_SHARD_COUNT, ingestSettings } from '../src/contracts/ingest-settings.js';
import { kinesisRecordFor } from '../src/devices/kinesis-event.js';
import { TELEMETRY_RULE, type TelemetryRuleOutput } from '../src/contracts/rules.js';
import { telemetryRuleOutput } from '../src/local/iot-core/telemetry-rule-output.js';
import { parseTelemetry } from '../src/devices/telemetry-message.js';
import { countChangeFeedFanOut, DEVICES_STREAM_SHARDS, EVENTS_BATCH_SIZE, GRPC_TASKS, PUBLISH_MS, type FanOutCounts } from './change-feed-fanout.js';
import { HOURS_PER_MONTH, PRICES } from './prices.js';
import { EVENTS_DEVICE_CONCURRENCY } from '../src/change-feed/events-handler.js';

// ---------------------------------------------------------------- billing arithmetic from requests

type AttributeValue = { S?: string; N?: string; BOOL?: boolean; NULL?: boolean; M?: Record<string, AttributeValue>; L?: AttributeValue[] };

/** DynamoDB item size rules: name bytes + value bytes; numbers ~1 byte per 2 digits + 1; maps/lists 3 bytes + 1 per element. */
function attributeSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|e.*$/g, '').length / 2) + 1;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M) return 3 + Object.entries(value.M).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + attributeSize(v) + 1, 0);
  if (value.L) return 3 + value.L.reduce((sum, v) => sum + attributeSize(v) + 1, 0);
  return 0;
}
const itemSize = (item: Record<string, AttributeValue>) => Object.entries(item).reduce((s, [k, v]) => s + Buffer.byteLength(k) + attributeSize(v), 0);
const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

/** A registry item as CORE writes it (3 metadata entries), for the size of the item an UpdateItem rewrites. */
const REGISTRY_ITEM: Record<string, AttributeValue> = (() => {
  const id = randomUUID();
  const at = new Date().toISOString();
  return {
    id: { S: id }, name: { S: 'Boiler room sensor 12' }, type: { S: 'thermostat' }, status: { S: 'ONLINE' },
    createdAt: { S: at }, updatedAt: { S: at }, version: { N: '3' }, listPk: { S: 'DEVICE' }, createdKey: { S: `${at}#${id}` },
    metadata: { M: { site: { S: 'plant-7' }, floor: { S: '2' }, firmware: { S: '4.2.1' } } },
    presenceAt: { N: String(Date.now()) }, presenceVersion: { N: '12' },
  };
})();

/** Timestream's write size: 8 bytes per timestamp + dimension names/values + measure names/values; common attributes once per request. */
function timestreamRequestBytes(input: { CommonAttributes?: TsRecord; Records?: TsRecord[] }): number {
  const recordBytes = (r: TsRecord, withTime: boolean) =>
    (withTime && r.Time !== undefined ? 8 : 0) +
    (r.Dimensions ?? []).reduce((s, d) => s + Buffer.byteLength(d.Name) + Buffer.byteLength(d.Value), 0) +
    (r.MeasureName ? Buffer.byteLength(r.MeasureName) : 0) +
    (r.MeasureValues ?? []).reduce((s, m) => s + Buffer.byteLength(m.Name) + (m.Type === 'VARCHAR' ? Buffer.byteLength(m.Value) : m.Type === 'BOOLEAN' ? 1 : 8), 0);
  return (input.CommonAttributes ? recordBytes(input.CommonAttributes, false) : 0) + (input.Records ?? []).reduce((s, r) => s + recordBytes(r, true), 0);
}
type TsRecord = { Time?: string; MeasureName?: string; Dimensions?: Array<{ Name: string; Value: string }>; MeasureValues?: Array<{ Name: string; Value: string; Type: string }> };

interface Counters {
  dynamoCalls: Record<string, number>;
  dynamoWriteUnits: number;
  /** Write units per command name. */
  dynamoUnits: Record<string, number>;
  timestreamCalls: number;
  timestreamRecords: number;
  timestreamWrites: number;
  sqsCalls: number;
}
const newCounters = (): Counters => ({ dynamoCalls: {}, dynamoWriteUnits: 0, dynamoUnits: {}, timestreamCalls: 0, timestreamRecords: 0, timestreamWrites: 0, sqsCalls: 0 });

/** SDK clients pointed at the sink, each with a middleware that counts calls and billed units from the marshalled request. */
function countingClients(endpoint: string, counters: () => Counters) {
  const base = { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, maxAttempts: 1 };
  const dynamo = new DynamoDBClient(base);
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const c = counters();
      const name = context.commandName ?? 'unknown';
      c.dynamoCalls[name] = (c.dynamoCalls[name] ?? 0) + 1;
      const input = args.input as Record<string, unknown>;
      const add = (units: number) => {
        c.dynamoWriteUnits += units;
        c.dynamoUnits[name] = (c.dynamoUnits[name] ?? 0) + units;
      };
      if (name === 'PutItemCommand') add(writeUnits(itemSize(input.Item as Record<string, AttributeValue>)));
      if (name === 'BatchWriteItemCommand') {
        for (const requests of Object.values(input.RequestItems as Record<string, Array<{ PutRequest: { Item: Record<string, AttributeValue> } }>>)) {
          for (const r of requests) add(writeUnits(itemSize(r.PutRequest.Item)));
        }
      }
      if (name === 'UpdateItemCommand') {
        // Billed on the larger of the item before and after: the registry item + lastSeen + its readings map.
        const values = input.ExpressionAttributeValues as Record<string, AttributeValue>;
        const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
        const readings: Record<string, AttributeValue> = {};
        for (const [key, metric] of Object.entries(names)) if (key.startsWith('#r')) readings[metric] = values[`:r${key.slice(2)}`]!;
        add(writeUnits(itemSize({ ...REGISTRY_ITEM, lastSeen: values[':ls']!, readings: { M: readings } })));
      }
      return next(args);
    },
    { step: 'build', name: 'benchCount' },
  );
  const timestream = new TimestreamWriteClient(base);
  timestream.middlewareStack.add(
    (next) => async (args) => {
      const c = counters();
      const input = args.input as { CommonAttributes?: TsRecord; Records?: TsRecord[] };
      c.timestreamCalls += 1;
      c.timestreamRecords += input.Records?.length ?? 0;
      c.timestreamWrites += Math.max(1, Math.ceil(timestreamRequestBytes(input) / 1024));
      return next(args);
    },
    { step: 'build', name: 'benchCount' },
  );
  const sqs = new SQSClient({ ...base, md5: false });
  sqs.middlewareStack.add(
    (next) => async (args) => {
      counters().sqsCalls += 1;
      return next(args);
    },
    { step: 'build', name: 'benchCount' },
  );
  return { doc: DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }), timestream, sqs, destroy: () => [dynamo, timestream, sqs].forEach((c) => c.destroy()) };
}

// ---------------------------------------------------------------- the simulated stream

const DEVICES = 10_000;
const INTERVAL_S = 10;
const MAX_EVENT_BYTES = 6 * 1024 * 1024;

/** The shard Kinesis puts a partition key on: MD5 → 128-bit hash key, split evenly across shards. */
function shardOf(partitionKey: string, shards: number): number {
  const hash = BigInt(`0x${createHash('md5').update(partitionKey).digest('hex')}`);
  return Number((hash * BigInt(shards)) >> 128n);
}

function devicePayload(seq: number, ts: number, rng: () => number, pointsPerMessage = 1): string {
  const metrics = () => ({ temperature: Math.round((18 + rng() * 8) * 100) / 100, humidity: Math.round(rng() * 1000) / 10, battery: Math.round((3.4 + rng() * 0.8) * 100) / 100, door: rng() < 0.1 });
  if (pointsPerMessage === 1) return JSON.stringify({ v: 1, ts, seq, metrics: metrics() });
  // Schema v2: the readings of the interval before the message, one second apart.
  const points = Array.from({ length: pointsPerMessage }, (_, k) => ({ ts: ts - (pointsPerMessage - 1 - k) * 1000, seq: seq * pointsPerMessage + k, metrics: metrics() }));
  return JSON.stringify({ v: 2, points });
}

function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

interface SimulatedBatch {
  readonly event: KinesisStreamEvent;
  readonly outputs: TelemetryRuleOutput[];
  readonly payloads: Buffer[];
  readonly eventBytes: number;
}

/** The batches one shard's event source would deliver over `minutes` of stream time. */
function simulateShard(shards: number, minutes: number, batchSize: number, windowSeconds: number, pointsPerMessage = 1, startAt = Date.now()): { batches: SimulatedBatch[]; devices: number } {
  const rng = seededRandom(42);
  const things: Array<{ id: string; phase: number }> = [];
  for (let i = 0; i < DEVICES; i += 1) {
    const id = randomUUID();
    if (shardOf(id, shards) === 0) things.push({ id, phase: rng() * INTERVAL_S * 1000 });
  }
  const start = startAt;
  const arrivals: Array<{ at: number; id: string; seq: number }> = [];
  for (const thing of things) {
    for (let seq = 0, at = start + thing.phase; at < start + minutes * 60_000; seq += 1, at += INTERVAL_S * 1000) arrivals.push({ at: Math.round(at), id: thing.id, seq });
  }
  arrivals.sort((a, b) => a.at - b.at);
  const batches: SimulatedBatch[] = [];
  let open: { first: number; records: KinesisStreamRecord[]; outputs: TelemetryRuleOutput[]; payloads: Buffer[]; bytes: number } | undefined;
  const close = () => {
    if (!open) return;
    const event = { Records: open.records };
    batches.push({ event, outputs: open.outputs, payloads: open.payloads, eventBytes: Buffer.byteLength(JSON.stringify(event)) });
    open = undefined;
  };
  let sequence = 0n;
  for (const arrival of arrivals) {
    if (open && arrival.at >= open.first + windowSeconds * 1000) close();
    const payload = Buffer.from(devicePayload(arrival.seq, arrival.at - 40, rng, pointsPerMessage), 'utf8');
    const output = telemetryRuleOutput(`$aws/rules/${TELEMETRY_RULE.ruleName}/dt/iot/${arrival.id}/telemetry`, payload, arrival.id, arrival.at)!;
    sequence += 1n;
    const record = kinesisRecordFor(output, { sequenceNumber: String(49_000_000_000_000_000_000n + sequence), arrivalMs: arrival.at });
    const size = Buffer.byteLength(JSON.stringify(record)) + 1;
    if (open && open.bytes + size > MAX_EVENT_BYTES) close();
    open ??= { first: arrival.at, records: [], outputs: [], payloads: [], bytes: 20 };
    open.records.push(record);
    open.outputs.push(output);
    open.payloads.push(payload);
    open.bytes += size;
    if (open.records.length >= batchSize) close();
  }
  close();
  return { batches, devices: things.length };
}

// ---------------------------------------------------------------- the run

async function main(): Promise<void> {
  const minutes = Number(process.argv.find((a) => a.startsWith('--minutes='))?.split('=')[1] ?? 8);
  const ddbBatchCount = Number(process.argv.find((a) => a.startsWith('--ddb='))?.split('=')[1] ?? Number.MAX_SAFE_INTEGER);
  // Store tuning to compare (`--chunk-bytes=N`, `--group-bits=N`); the store's defaults otherwise.
  const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const ddbTuning = {
    ...(flag('chunk-bytes') && { chunkBytes: Number(flag('chunk-bytes')) }),
    ...(flag('group-bits') && { groupBits: Number(flag('group-bits')) }),
  };
  // The simulated stream runs 10 min into an hour that closed hours ago (within the 7-day window),
  // so the 8-minute passes cross no hour close: the hourly rollup is counted in a pass of its own.
  const HOUR_MS = 3_600_000;
  const hourStart = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 3 * HOUR_MS;
  const streamStart = hourStart + 10 * 60_000;
  const clock = { now: streamStart };
  const ddbStoreOptions = { ...ddbTuning, now: () => clock.now };
  const naiveSample = Number(process.argv.find((a) => a.startsWith('--naive='))?.split('=')[1] ?? 3000);
  const settings = ingestSettings({ batchSize: process.env.INGEST_BATCH_SIZE, batchWindowSeconds: process.env.INGEST_BATCH_WINDOW_SECONDS });
  const shards = Number(process.env.INGEST_SHARD_COUNT ?? DEFAULT_INGEST_SHARD_COUNT);
  const ingestMemoryGb = 0.5; // lib/ingest-pipeline.ts: memorySize 512
  const naiveMemoryGb = 0.25; // PlatformFunction default
  const started = performance.now();

  const child = fork(fileURLToPath(import.meta.url), ['--sink'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // dynalite in a process of its own: sharing the sink's event loop slowed the sink's answers past the SDK's timeouts.
  const dynamoChild = fork(fileURLToPath(import.meta.url), ['--dynamo'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [sinkPort, dynamo] = await Promise.all([
    new Promise<number>((resolve) => child.once('message', (m) => resolve(Number(m)))),
    new Promise<string>((resolve) => dynamoChild.once('message', (m) => resolve(String(m)))),
  ]);
  const ports = { sink: sinkPort, dynamo };
  const endpoint = `http://127.0.0.1:${ports.sink}`;
  let counters = newCounters();
  const clients = countingClients(endpoint, () => counters);
  const telemetryTable = capacityCountingClient(ports.dynamo);
  /** Every group's rollup state as if its hours before `hourStart` were rolled up: the steady state. */
  const seedRollupState = async (table: string, groupBits = ddbTuning.groupBits ?? 10) => {
    for (let g = 0; g < 2 ** groupBits; g += 1) {
      await telemetryTable.doc.send(new PutCommand({ TableName: table, Item: { pk: telemetryGroupKey(g), sk: '#rollups', c: hourStart, w: hourStart } }));
    }
    telemetryTable.reset();
  };

  try {
    const { batches, devices } = simulateShard(shards, minutes, settings.batchSize, settings.batchWindowSeconds, 1, streamStart);
    await seedRollupState('Telemetry');
    const messages = batches.reduce((n, b) => n + b.event.Records.length, 0);

    // --- our design, Timestream store
    const tally = { deadLettered: 0, failed: 0 };
    const handler = createIngestHandler({
      observer: { batch: (summary) => { tally.deadLettered += summary.deadLettered; tally.failed += summary.failed; } },
      devices: new DynamoDbDeviceStateWriter(clients.doc, 'Devices'),
      telemetry: new TimestreamTelemetryStore(clients.timestream, { databaseName: 'iot', tableName: 'telemetry' }),
      deadLetters: new SqsDeadLetterQueue(clients.sqs, `${endpoint}/000000000000/dlq`),
    });
    const ours = await runBatches(batches, handler, (batch) => Math.ceil(Math.ceil(batch.outputs.length / 100) / 4) * TIMESTREAM_MS);
    const oursCounts = counters;

    // --- our design with the DynamoDB telemetry store (chunk items + rollups), over the same batches (`--ddb=N`: the first N)
    counters = newCounters();
    telemetryTable.reset();
    const ddbBatches = batches.slice(0, ddbBatchCount);
    const ddbTally = { deadLettered: 0, failed: 0, stored: 0 };
    const ddbHandler = createIngestHandler({
      observer: { batch: (summary) => { ddbTally.deadLettered += summary.deadLettered; ddbTally.failed += summary.failed; ddbTally.stored += summary.stored; } },
      devices: new DynamoDbDeviceStateWriter(clients.doc, 'Devices'),
      telemetry: new DynamoDbTelemetryStore(telemetryTable.doc, 'Telemetry', ddbStoreOptions),
      deadLetters: new SqsDeadLetterQueue(clients.sqs, `${endpoint}/000000000000/dlq`),
    });
    // Telemetry calls run 8 at a time (the store's default concurrency), one DynamoDB round each.
    let telemetryCallsSeen = 0;
    const telemetryRounds = () => {
      const calls = total(telemetryTable.counts(), 'calls');
      const rounds = Math.ceil((calls - telemetryCallsSeen) / 8);
      telemetryCallsSeen = calls;
      return rounds * DYNAMO_MS;
    };
    const ddb = await runBatches(ddbBatches, ddbHandler, telemetryRounds, clock);
    const ddbCounts = counters;
    const ddbTelemetry = telemetryTable.counts();
    const ddbMessages = ddbBatches.reduce((n, b) => n + b.event.Records.length, 0);

    // --- readings batched by the device (schema v2): the same fleet at the same message rate,
    // each message carrying `n` readings; cost per million readings with both stores.
    const readingsCost = async (n: number) => {
      const sim = simulateShard(shards, Number(flag('points-minutes') ?? 3), settings.batchSize, settings.batchWindowSeconds, n, streamStart);
      const simMessages = sim.batches.reduce((m, b) => m + b.event.Records.length, 0);
      const readings = simMessages * n;
      const stored = { ts: 0, ddb: 0, deadLettered: 0, failed: 0 };
      const run = async (telemetry: TelemetryWriter, key: 'ts' | 'ddb') => {
        counters = newCounters();
        const h = createIngestHandler({
          observer: {
            batch: (summary) => { stored[key] += summary.stored; stored.deadLettered += summary.deadLettered; stored.failed += summary.failed; },
            failure: (stage, error, count) => { if (stored.failed === 0) console.error(`bench: ${count} readings' ${stage} write failed: ${(error as Error).message}`); },
          },
          devices: new DynamoDbDeviceStateWriter(clients.doc, 'Devices'),
          telemetry,
          deadLetters: new SqsDeadLetterQueue(clients.sqs, `${endpoint}/000000000000/dlq`),
        });
        telemetryTable.reset();
        telemetryCallsSeen = 0;
        const result = await runBatches(sim.batches, h, (batch) => {
          if (key === 'ts') return Math.ceil(Math.ceil((batch.outputs.length * n) / 100) / 4) * TIMESTREAM_MS;
          return telemetryRounds();
        }, clock);
        return { result, counts: counters, telemetry: telemetryTable.counts() };
      };
      const ts = await run(new TimestreamTelemetryStore(clients.timestream, { databaseName: 'iot', tableName: 'telemetry' }), 'ts');
      const dd = await run(new DynamoDbTelemetryStore(telemetryTable.doc, 'Telemetry', ddbStoreOptions), 'ddb');
      const monthlyReadings = DEVICES * (3600 / INTERVAL_S) * HOURS_PER_MONTH * n;
      const putUnits = sim.batches.reduce((m, b) => m + b.outputs.reduce((t, o) => t + Math.max(1, Math.ceil((Buffer.byteLength(JSON.stringify(o)) + Buffer.byteLength(o.thingName)) / 25_600)), 0), 0);
      const perR = (count: number) => (count / readings) * 1e6;
      const common: Array<[string, number]> = [
        ['IoT connectivity', PRICES.iotConnectionMinute.usd * DEVICES * 60 * HOURS_PER_MONTH / (monthlyReadings / 1e6)],
        ['IoT rule + 1 action (per message)', perR(simMessages) * (PRICES.iotRuleTriggered.usd + PRICES.iotActionExecuted.usd)],
        ['Kinesis shard-hours', (shards * HOURS_PER_MONTH * PRICES.kinesisShardHour.usd) / (monthlyReadings / 1e6)],
        ['Kinesis PUT payload units', perR(putUnits) * PRICES.kinesisPutUnit.usd],
      ];
      const lambda = (r: { invocations: number; billedMs: number }): Array<[string, number]> => [
        ['Lambda requests + duration', perR(r.invocations) * PRICES.lambdaRequest.usd + perR((r.billedMs / 1000) * ingestMemoryGb) * PRICES.lambdaArmGbSecond.usd],
      ];
      const tsLines: Array<[string, number]> = [
        ...common,
        ...lambda(ts.result),
        ['DynamoDB device-state writes', perR(ts.counts.dynamoWriteUnits) * PRICES.dynamoWriteUnit.usd],
        ['Timestream writes', perR(ts.counts.timestreamWrites) * PRICES.timestreamWrite.usd],
      ];
      // The hourly rollup of a device-hour: its rollup writes are the same whatever the readings
      // per message (60 minute buckets per metric), its raw reads grow with them (n x the v1 pass's).
      const rollupPerDeviceHour = rollup.writeUsdPerDeviceHour + rollup.readUsdPerDeviceHour * n;
      const ddbLinesPerReading: Array<[string, number]> = [
        ...common,
        ...lambda(dd.result),
        ['DynamoDB device-state writes', perR(dd.counts.dynamoWriteUnits) * PRICES.dynamoWriteUnit.usd],
        ['DynamoDB telemetry chunk writes', perR(dd.telemetry.chunks.writeUnits) * PRICES.dynamoWriteUnit.usd],
        ['DynamoDB rollup state reads + late recomputes', (perR(total(dd.telemetry, 'writeUnits') - dd.telemetry.chunks.writeUnits) * PRICES.dynamoWriteUnit.usd) + perR(total(dd.telemetry, 'readUnits')) * PRICES.dynamoReadUnit.usd],
        ['DynamoDB hourly rollups (per device-hour)', (rollupPerDeviceHour / (360 * n)) * 1e6],
      ];
      return {
        n, messages: simMessages, batches: sim.batches.length, eventMb: avg(sim.batches.map((b) => b.eventBytes)) / 1024 / 1024, readings, ts: sum(tsLines), ddb: sum(ddbLinesPerReading), tsLines, ddbLines: ddbLinesPerReading, stored,
        ruleShare: perR(simMessages) * (PRICES.iotRuleTriggered.usd + PRICES.iotActionExecuted.usd),
        chunkItems: dd.telemetry.chunks.calls, chunkUnitsPerReading: dd.telemetry.chunks.writeUnits / readings,
      };
    };
    // --- the hourly rollup of one full hour: every 8th device group of the shard, store only, its own
    // table, 67 simulated minutes from the hour's start (the hour closes 5 min after its end).
    const rollupPass = async () => {
      const sim = simulateShard(shards, 67, settings.batchSize, settings.batchWindowSeconds, 1, hourStart);
      const groupBits = ddbTuning.groupBits ?? 10;
      await seedRollupState('TelemetryRollups');
      const store = new DynamoDbTelemetryStore(telemetryTable.doc, 'TelemetryRollups', ddbStoreOptions);
      let inHour = 0;
      const devicesInHour = new Set<string>();
      for (const batch of sim.batches) {
        const points: TelemetryPoint[] = [];
        for (const output of batch.outputs) {
          if (telemetryGroup(output.thingName, groupBits) % 8 !== 0) continue;
          const parsed = parseTelemetry(Buffer.from(output.payload, 'base64'), output.receivedAt);
          if (!parsed.ok || parsed.message.ts < hourStart) continue;
          const { ts, seq, metrics } = parsed.message;
          points.push({ deviceId: output.thingName, ts, seq, metrics });
          if (ts < hourStart + HOUR_MS) {
            inHour += 1;
            devicesInHour.add(output.thingName);
          }
        }
        clock.now = Math.max(...batch.outputs.map((o) => o.receivedAt));
        if (points.length > 0) await store.write(points);
      }
      const c = telemetryTable.counts();
      const writeUsd = (c['rollup-items'].writeUnits + c['rollup-state'].writeUnits) * PRICES.dynamoWriteUnit.usd;
      const readUsd = c['compaction-reads'].readUnits * PRICES.dynamoReadUnit.usd;
      const usd = writeUsd + readUsd;
      return {
        inHour, devices: devicesInHour.size, counts: c, usd, perMillionMessages: (usd / inHour) * 1e6, perDeviceHour: usd / devicesInHour.size,
        writeUsdPerDeviceHour: writeUsd / devicesInHour.size, readUsdPerDeviceHour: readUsd / devicesInHour.size,
      };
    };
    const rollup = await rollupPass();
    const perReading = [await readingsCost(1), await readingsCost(10)];

    // --- the change-feed fan-out of the state writes of the first `--feed=N` batches
    const feedBatches = batches.slice(0, Number(flag('feed') ?? 2));
    const fanOut = await countChangeFeedFanOut(feedBatches.map((b) => b.event), endpoint);

    // --- handler CPU without any SDK (in-memory ports) and JSON.parse of the same payloads
    const memoryState: DeviceStateWriter = { recordTelemetry: async () => 'applied', recordPresence: async () => 'applied', readingNames: async () => new Set() };
    const pure = createIngestHandler({ devices: memoryState, telemetry: { write: async () => ({ rejected: [] }) }, deadLetters: new InMemoryDeadLetterQueue() });
    const pureCpu = await cpuMicros(async () => {
      for (const b of batches) await pure(b.event);
    });
    let sink = 0;
    const parseCpu = await cpuMicros(async () => {
      for (const b of batches) for (const p of b.payloads) sink += (JSON.parse(p.toString('utf8')) as { seq: number }).seq;
    });

    // --- the naive design on a sample of the same messages
    counters = newCounters();
    const sample = batches.flatMap((b) => b.outputs).slice(0, naiveSample);
    const naiveHandler = async (output: TelemetryRuleOutput) => {
      const result = parseTelemetry(Buffer.from(output.payload, 'base64'), output.receivedAt);
      if (!result.ok) return;
      const { ts, seq, metrics } = result.message;
      await clients.doc.send(
        new PutCommand({
          TableName: 'Telemetry',
          Item: { pk: telemetryPartitionKey(output.thingName, ts), sk: telemetrySortKey(ts, seq), deviceId: output.thingName, ts, seq, m: metrics, expiresAt: Math.floor(ts / 1000) + 30 * 86400 },
        }),
      );
      await clients.timestream.send(
        new WriteRecordsCommand({
          DatabaseName: 'iot',
          TableName: 'telemetry',
          Records: [
            {
              Dimensions: [{ Name: 'device', Value: output.thingName }],
              MeasureName: 'telemetry',
              MeasureValueType: 'MULTI',
              Time: String(ts),
              TimeUnit: 'MILLISECONDS',
              MeasureValues: Object.entries(metrics).map(([Name, v]) => ({ Name, Value: String(v), Type: typeof v === 'number' ? 'DOUBLE' : typeof v === 'boolean' ? 'BOOLEAN' : 'VARCHAR' })),
            },
          ],
        }),
      );
    };
    let naiveWallMs = 0;
    const naiveCpu = await cpuMicros(async () => {
      for (const output of sample) {
        const t = performance.now();
        await naiveHandler(output);
        naiveWallMs += Math.max(1, Math.ceil(performance.now() - t + NAIVE_SERVICE_MS));
      }
    });
    const naiveCounts = counters;

    // ------------------------------------------------------------ figures
    const perM = (n: number, of: number) => (n / of) * 1e6;
    const monthlyMessages = DEVICES * (3600 / INTERVAL_S) * HOURS_PER_MONTH;
    const kinesisPutUnits = batches.reduce((n, b) => n + b.outputs.reduce((s, o) => s + Math.max(1, Math.ceil((Buffer.byteLength(JSON.stringify(o)) + Buffer.byteLength(o.thingName)) / 25_600)), 0), 0);
    const kinesisRecordKb = batches.reduce((n, b) => n + b.outputs.reduce((s, o) => s + Math.max(1, Math.ceil(Buffer.byteLength(JSON.stringify(o)) / 1024)), 0), 0);
    const kinesisBytes = batches.reduce((n, b) => n + b.outputs.reduce((s, o) => s + Buffer.byteLength(JSON.stringify(o)), 0), 0);
    const connection = PRICES.iotConnectionMinute.usd * DEVICES * 60 * HOURS_PER_MONTH / (monthlyMessages / 1e6);

    const oursUpdates = oursCounts.dynamoCalls.UpdateItemCommand ?? 0;
    const oursLines: Array<[string, number]> = [
      ['IoT connectivity (same in both designs)', connection],
      ['IoT messaging (Basic Ingest: none)', 0],
      ['IoT rule triggered + 1 action (Kinesis)', PRICES.iotRuleTriggered.usd * 1e6 + PRICES.iotActionExecuted.usd * 1e6],
      [`Kinesis ${shards} shard-hours`, (shards * HOURS_PER_MONTH * PRICES.kinesisShardHour.usd) / (monthlyMessages / 1e6)],
      ['Kinesis PUT payload units', perM(kinesisPutUnits, messages) * PRICES.kinesisPutUnit.usd],
      ['Lambda requests', perM(ours.invocations, messages) * PRICES.lambdaRequest.usd],
      ['Lambda duration (arm64, 512 MB)', perM(ours.billedMs / 1000 * ingestMemoryGb, messages) * PRICES.lambdaArmGbSecond.usd],
      ['DynamoDB device-state writes', perM(oursCounts.dynamoWriteUnits, messages) * PRICES.dynamoWriteUnit.usd],
      ['Timestream writes', perM(oursCounts.timestreamWrites, messages) * PRICES.timestreamWrite.usd],
    ];
    const oursTotal = sum(oursLines);
    const ddbStateUnits = ddbCounts.dynamoWriteUnits;
    const ddbLines: Array<[string, number]> = [
      ...oursLines.slice(0, 5),
      ['Lambda requests', perM(ddb.invocations, ddbMessages) * PRICES.lambdaRequest.usd],
      ['Lambda duration (arm64, 512 MB)', perM(ddb.billedMs / 1000 * ingestMemoryGb, ddbMessages) * PRICES.lambdaArmGbSecond.usd],
      ['DynamoDB device-state writes', perM(ddbStateUnits, ddbMessages) * PRICES.dynamoWriteUnit.usd],
      ['DynamoDB telemetry chunk writes', perM(ddbTelemetry.chunks.writeUnits, ddbMessages) * PRICES.dynamoWriteUnit.usd],
      ['DynamoDB rollup state reads (per group, per batch)', perM(ddbTelemetry['rollup-state'].readUnits, ddbMessages) * PRICES.dynamoReadUnit.usd],
      ['DynamoDB hourly rollups (raw reads + rollup writes)', rollup.perMillionMessages],
    ];
    const ddbTotal = sum(ddbLines);
    // The previous DynamoDB store wrote one item per reading: the naive column's PutItem units, counted the same way.
    const perReadingTotal = ddbTotal - ddbLines[8]![1] - ddbLines[9]![1] - ddbLines[10]![1] + perM(naiveCounts.dynamoWriteUnits, sample.length) * PRICES.dynamoWriteUnit.usd;

    const naiveN = sample.length;
    const naiveLines: Array<[string, number]> = [
      ['IoT connectivity (same in both designs)', connection],
      ['IoT messaging (first-tier price)', PRICES.iotMessage.usd * 1e6],
      ['IoT rule triggered + 1 action (Lambda)', PRICES.iotRuleTriggered.usd * 1e6 + PRICES.iotActionExecuted.usd * 1e6],
      ['Lambda requests', perM(naiveN, naiveN) * PRICES.lambdaRequest.usd],
      ['Lambda duration (arm64, 256 MB)', perM(naiveWallMs / 1000 * naiveMemoryGb, naiveN) * PRICES.lambdaArmGbSecond.usd],
      ['DynamoDB PutItem', perM(naiveCounts.dynamoWriteUnits, naiveN) * PRICES.dynamoWriteUnit.usd],
      ['Timestream writes', perM(naiveCounts.timestreamWrites, naiveN) * PRICES.timestreamWrite.usd],
    ];
    const naiveTotal = sum(naiveLines);
    const onDemandPerM =
      (HOURS_PER_MONTH * PRICES.kinesisOnDemandStreamHour.usd) / (monthlyMessages / 1e6) +
      perM(kinesisRecordKb / 1024 / 1024, messages) * PRICES.kinesisOnDemandIngestGb.usd +
      perM(kinesisBytes / 1024 ** 3, messages) * PRICES.kinesisOnDemandRetrievalGb.usd;

    const f = (n: number, d = 2) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
    const out: string[] = [];
    out.push(`Ingest cost bench: ${DEVICES.toLocaleString()} devices x 1 msg / ${INTERVAL_S} s = ${f(monthlyMessages / 1e9, 3)} billion msg/month (us-east-1 list prices, bench/prices.ts)`);
    out.push(`Stream: ${shards} provisioned shards; batchSize ${settings.batchSize}, window ${settings.batchWindowSeconds} s (DEFAULT_INGEST_SETTINGS${settings.batchSize !== DEFAULT_INGEST_SETTINGS.batchSize ? ', overridden' : ''}); 6 MB event limit applied`);
    out.push(`Slice: shard 0 of ${shards} (${devices} devices) for ${minutes} simulated min = ${messages.toLocaleString()} messages in ${batches.length} batches (${f(messages / batches.length, 0)} records, ${f(avg(batches.map((b) => b.eventBytes)) / 1024 / 1024)} MB per event); scaled per million`);
    out.push('');
    const ddbStateUpdates = ddbCounts.dynamoCalls.UpdateItemCommand ?? 0;
    out.push('Counted from the adapters\' SDK calls (per million messages)   ours+Timestream  ours+DynamoDB        naive');
    out.push(`  Lambda invocations                                      ${pad(f(perM(ours.invocations, messages), 0))}  ${pad(f(perM(ddb.invocations, ddbMessages), 0))}  ${pad(f(1e6, 0))}`);
    out.push(`  DynamoDB device-state writes (UpdateItem)               ${pad(f(perM(oursUpdates, messages), 0))}  ${pad(f(perM(ddbStateUpdates, ddbMessages), 0))}  ${pad('-')}`);
    out.push(`  DynamoDB telemetry chunk BatchWriteItem calls          ${pad('-')}  ${pad(f(perM(ddbTelemetry.chunks.calls, ddbMessages), 0))}  ${pad(f(perM(naiveCounts.dynamoCalls.PutItemCommand ?? 0, naiveN), 0))}`);
    out.push(`  DynamoDB rollup state GetItem calls (per group, batch)  ${pad('-')}  ${pad(f(perM(ddbTelemetry['rollup-state'].calls, ddbMessages), 0))}  ${pad('-')}`);
    out.push(`  DynamoDB write request units, all tables                ${pad(f(perM(oursCounts.dynamoWriteUnits, messages), 0))}  ${pad(f(perM(ddbCounts.dynamoWriteUnits, ddbMessages), 0))}  ${pad(f(perM(naiveCounts.dynamoWriteUnits, naiveN), 0))}`);
    out.push(`  DynamoDB write request units, telemetry chunks          ${pad('-')}  ${pad(f(perM(ddbTelemetry.chunks.writeUnits, ddbMessages), 0))}  ${pad(f(perM(naiveCounts.dynamoWriteUnits, naiveN), 0))}`);
    out.push(`  Timestream WriteRecords calls                           ${pad(f(perM(oursCounts.timestreamCalls, messages), 0))}  ${pad('-')}  ${pad(f(perM(naiveCounts.timestreamCalls, naiveN), 0))}`);
    out.push(`  Timestream records per call                             ${pad(f(oursCounts.timestreamRecords / oursCounts.timestreamCalls, 1))}  ${pad('-')}  ${pad(f(naiveCounts.timestreamRecords / naiveCounts.timestreamCalls, 1))}`);
    out.push(`  Timestream billed writes (1 KiB)                        ${pad(f(perM(oursCounts.timestreamWrites, messages), 0))}  ${pad('-')}  ${pad(f(perM(naiveCounts.timestreamWrites, naiveN), 0))}`);
    out.push(`  Kinesis PUT payload units                               ${pad(f(perM(kinesisPutUnits, messages), 0))}  ${pad(f(perM(kinesisPutUnits, messages), 0))}  ${pad('-')}`);
    out.push(`  Messages per device-state write (coalescing)            ${pad(f(messages / oursUpdates, 2))}  ${pad(f(ddbMessages / ddbStateUpdates, 2))}  ${pad('-')}`);
    out.push(`  Messages per telemetry write unit                       ${pad('-')}  ${pad(f(ddbMessages / ddbTelemetry.chunks.writeUnits, 2))}  ${pad(f(naiveN / naiveCounts.dynamoWriteUnits, 2))}`);
    out.push('');
    out.push(`CPU per message (this machine): handler + SDK ${f(ours.cpuMicros / messages)} µs | handler alone (in-memory ports) ${f(pureCpu / messages)} µs | JSON.parse of the same payloads ${f(parseCpu / messages)} µs | naive handler + SDK ${f(naiveCpu / naiveN)} µs`);
    out.push(`Lambda billed duration: measured against the local sink + modelled service latency (DynamoDB ${DYNAMO_MS} ms, Timestream ${TIMESTREAM_MS} ms per sequential round): ours ${f(ours.billedMs / ours.invocations, 0)} ms per batch, naive ${f(naiveWallMs / naiveN, 0)} ms per message`);
    out.push('');
    out.push('Dollars per million messages            ours+TS  ours+DDB     naive');
    const labels = new Set([...oursLines.map((l) => l[0]), ...ddbLines.map((l) => l[0]), ...naiveLines.map((l) => l[0])]);
    const cell = (v: number | undefined) => (v === undefined ? '        -' : `$${f(v, 4).padStart(8)}`);
    for (const label of labels) {
      const value = (lines: Array<[string, number]>) => lines.find((l) => l[0] === label)?.[1];
      out.push(`  ${label.padEnd(42)} ${cell(value(oursLines))} ${cell(value(ddbLines))} ${cell(value(naiveLines))}`);
    }
    out.push(`  ${'TOTAL'.padEnd(42)} ${cell(oursTotal)} ${cell(ddbTotal)} ${cell(naiveTotal)}`);
    out.push(`  ${'per month'.padEnd(42)} ${`$${f(oursTotal * monthlyMessages / 1e6, 0)}`.padStart(9)} ${`$${f(ddbTotal * monthlyMessages / 1e6, 0)}`.padStart(9)} ${`$${f(naiveTotal * monthlyMessages / 1e6, 0)}`.padStart(9)}`);
    out.push('');
    out.push(`DynamoDB store${Object.keys(ddbTuning).length > 0 ? ` (${JSON.stringify(ddbTuning)})` : ''} counted over the first ${ddbBatches.length} batches (${ddbMessages.toLocaleString()} messages): ${ddbTally.stored.toLocaleString()} readings stored, dead letters ${ddbTally.deadLettered}, batch item failures ${ddbTally.failed}`);
    out.push(`Hourly rollup, counted on one full hour of every 8th device group of the shard (${rollup.devices} devices, ${rollup.inHour.toLocaleString()} messages in the hour): ${f(rollup.counts['compaction-reads'].readUnits, 1)} read units of raw chunks, ${f(rollup.counts['rollup-items'].writeUnits, 0)} write units of MINUTE/HOUR/DAY items in ${rollup.counts['rollup-items'].calls} writes, ${f(rollup.counts['rollup-state'].writeUnits, 0)} of rollup state = $${f(rollup.perMillionMessages, 4)} per million messages ($${f(rollup.perDeviceHour * 1e6, 2)} per million device-hours)`);
    out.push(`The previous DynamoDB store (one item per reading, 1 WRU each) on the same run: $${f(perReadingTotal, 4)} per million`);
    out.push(`Kinesis on-demand instead of ${shards} provisioned shards: $${f(onDemandPerM, 4)} vs $${f(oursLines[3]![1] + oursLines[4]![1], 4)} per million (records rounded up to 1 KB on ingest)`);
    out.push(`Dead letters: ${tally.deadLettered} (all messages valid), batch item failures: ${tally.failed}`);
    out.push('');
    // ------------------------------------------------------------ change-feed fan-out
    const eventsMemoryGb = 0.25; // PlatformFunction default memorySize 256
    const fm = fanOut.messages;
    const fanOutLines = (c: FanOutCounts): Array<[string, number]> => [
      ['Events Lambda requests', perM(c.invocations, fm) * PRICES.lambdaRequest.usd],
      ['Events Lambda duration (arm64, 256 MB)', perM((c.billedMs / 1000) * eventsMemoryGb, fm) * PRICES.lambdaArmGbSecond.usd],
      ['Stats writes (5 WRU: a ledger item ~4 KB)', perM(c.statsWrites * 5, fm) * PRICES.dynamoWriteUnit.usd],
      ['AppSync publish mutations', perM(c.appSyncMutations, fm) * PRICES.appSyncOperation.usd],
      ['AppSync real-time, 1 all-devices subscriber', perM(c.allDevicesSubscriberUnits, fm) * PRICES.appSyncRealtimeUpdate.usd],
      ['AppSync real-time, 1 single-device subscriber', perM(c.singleDeviceSubscriberUnits, fm) * PRICES.appSyncRealtimeUpdate.usd],
      ['IoT data-plane Publish (5 KB units)', perM(c.iotPublishUnits, fm) * PRICES.iotMessage.usd],
      [`IoT delivery to ${GRPC_TASKS} gRPC tasks`, perM(c.iotPublishUnits * GRPC_TASKS, fm) * PRICES.iotMessage.usd],
    ];
    // Per change as counted, times the state writes per million the whole run counted (the first batches differ a little in size).
    const stateWritesPerM = perM(oursUpdates, messages);
    const scale = stateWritesPerM / perM(fanOut.changes, fm);
    const scaled = (lines: Array<[string, number]>): Array<[string, number]> => lines.map(([label, v]) => [label, v * scale]);
    const designs = [fanOut.live, fanOut.perChange, fanOut.quiet] as const;
    const designLines = designs.map((c) => scaled(fanOutLines(c)));
    const [liveFanOut, perChangeFanOut, quietFanOut] = designLines.map(sum) as [number, number, number];
    // The naive design writes device state once per message: one change per message, each fanned out one by one.
    const changesPerM = perM(fanOut.changes, fm);
    const naivePerChange = (perChangeFanOut / stateWritesPerM) * 1e6;
    const naiveQuiet = (quietFanOut / stateWritesPerM) * 1e6;
    const row = (label: string, value: (c: FanOutCounts) => string) => out.push(`  ${label.padEnd(56)}${designs.map((c) => value(c).padStart(18)).join('')}`);
    out.push(`Change-feed fan-out, counted: ${fanOut.changes.toLocaleString()} Devices stream records captured from the state writes of the first ${feedBatches.length} batches (${fm.toLocaleString()} messages), run through the real events handler`);
    out.push(`(DynamoDbStatsStore on dynalite, AppSync and IoT change publishers against the sink; events batches of ${EVENTS_BATCH_SIZE} per stream shard, ${DEVICES_STREAM_SHARDS} shards assumed;`);
    out.push(' one subscriber of every device (deviceUpdated + telemetryUpdated) and one of the first device (deviceUpdated(id), so that device is watched))');
    out.push(`Per million messages${' '.repeat(39)}batched (default)        per-change          live off`);
    out.push(`  ${'Device-state changes (stream records)'.padEnd(56)}${f(changesPerM, 0).padStart(18).repeat(3)}`);
    out.push(`  ${'... of which telemetry only (version unchanged)'.padEnd(56)}${f(perM(fanOut.telemetryOnly, fm), 0).padStart(18).repeat(3)}`);
    row('Events Lambda invocations', (c) => f(perM(c.invocations, fm), 0));
    row('Stats UpdateItem calls (telemetry moves no counter)', (c) => f(perM(c.statsWrites, fm), 0));
    row('AppSync mutations (of which publishTelemetryBatch)', (c) => `${f(perM(c.appSyncMutations, fm), 0)} (${f(perM(c.appSyncBatchMutations, fm), 0)})`);
    row('Real-time messages (5 KB): all-devices subscriber', (c) => f(perM(c.allDevicesSubscriberUnits, fm), 0));
    row('Real-time messages (5 KB): single-device subscriber', (c) => f(perM(c.singleDeviceSubscriberUnits, fm), 0));
    row('IoT Publish calls / 5 KB units', (c) => `${f(perM(c.iotPublishCalls, fm), 0)} / ${f(perM(c.iotPublishUnits, fm), 0)}`);
    row(`IoT deliveries to the ${GRPC_TASKS} gRPC tasks`, (c) => f(perM(c.iotPublishUnits * GRPC_TASKS, fm), 0));
    row('Batch item failures', (c) => String(c.failures));
    const perBatch = (c: FanOutCounts, ms: number) => (ms / c.invocations) * (EVENTS_BATCH_SIZE / (fanOut.changes / c.invocations));
    const concurrentMs = perBatch(fanOut.live, fanOut.live.billedMs);
    const perChangeMs = perBatch(fanOut.perChange, fanOut.perChange.billedMs);
    const needed = (changesPerM / 1e6) * 1000 / DEVICES_STREAM_SHARDS;
    out.push(`Events handler, a full batch of ${EVENTS_BATCH_SIZE} with ${PUBLISH_MS} ms per publish round trip (measured + modelled): batched ${f(concurrentMs, 0)} ms = ${f(EVENTS_BATCH_SIZE / concurrentMs * 1000, 0)} changes/s per stream shard; per-change (${EVENTS_DEVICE_CONCURRENCY} devices at a time) ${f(perChangeMs, 0)} ms = ${f(EVENTS_BATCH_SIZE / perChangeMs * 1000, 0)} changes/s; needed ${f(needed, 1)} changes/s per shard`);
    out.push('');
    out.push(`Fan-out dollars per million messages (per change as counted x ${f(stateWritesPerM, 0)} state writes per million, the whole run's count)`);
    out.push(`  ${''.padEnd(48)}    batched  per-change  live off`);
    for (const [i, [label]] of designLines[0]!.entries()) out.push(`  ${label.padEnd(48)} ${designLines.map((lines) => cell(lines[i]![1])).join('  ')}`);
    out.push(`  ${'FAN-OUT TOTAL'.padEnd(48)} ${[liveFanOut, perChangeFanOut, quietFanOut].map(cell).join('  ')}`);
    out.push('  (IoT at the first-tier price; telemetry-only changes coalesce to at most one per device per events batch, always the newest values)');
    out.push('');
    out.push(`Totals per million messages (target <= $${TARGET})                   ours+TS            ours+DDB           naive`);
    const verdict = (v: number) => `$${f(v, 4)} ${v <= TARGET ? 'MET   ' : 'MISSED'}`.padStart(18);
    out.push(`  ingest only                                           ${verdict(oursTotal)} ${verdict(ddbTotal)} ${verdict(naiveTotal)}`);
    out.push(`  + live fan-out, batched (default)                     ${verdict(oursTotal + liveFanOut)} ${verdict(ddbTotal + liveFanOut)} ${verdict(naiveTotal + naivePerChange)}`);
    out.push(`  + live fan-out, per change                            ${verdict(oursTotal + perChangeFanOut)} ${verdict(ddbTotal + perChangeFanOut)} ${verdict(naiveTotal + naivePerChange)}`);
    out.push(`  + fan-out, liveTelemetryUpdates=false                 ${verdict(oursTotal + quietFanOut)} ${verdict(ddbTotal + quietFanOut)} ${verdict(naiveTotal + naiveQuiet)}`);
    out.push('  (naive: one device-state change per message, each fanned out one by one as counted above)');
    out.push('');
    for (const [name, total] of [['Timestream store', oursTotal], ['DynamoDB store', ddbTotal]] as const) {
      const ratio = naiveTotal / total;
      out.push(`${name.padEnd(17)} ingest only: ${total <= TARGET ? 'within' : 'OVER'} $${TARGET} per million ($${f(total, 4)});  >= 4x cheaper than naive: ${ratio >= 4 ? 'MET' : 'MISSED'} (${f(ratio, 1)}x)`);
    }
    out.push(`(ran in ${f((performance.now() - started) / 1000, 1)} s; checksum ${sink % 10}; default config = the stack's default telemetryStore=dynamodb)`);
    out.push('');
    out.push(`Readings batched by the device (schema v2): the same fleet and message rate (1 message / ${INTERVAL_S} s per device), each message carrying N readings;`);
    out.push(`ingest cost per million readings, counted over ${flag('points-minutes') ?? 3} simulated minutes per N (rule, stream, Lambda, state and telemetry writes; no live fan-out)`);
    for (const r of perReading) {
      out.push(`  ${String(r.n).padStart(2)} reading${r.n === 1 ? ' ' : 's'} per message: $${f(r.ddb, 4)} per million readings (DynamoDB store), $${f(r.ts, 4)} (Timestream); rule charge $${f(r.ruleShare, 4)} of it; ${r.readings.toLocaleString()} readings in ${r.messages.toLocaleString()} messages and ${r.batches} batches (${f(r.eventMb)} MB per event), stored ${r.stored.ddb.toLocaleString()} / ${r.stored.ts.toLocaleString()}, dead letters ${r.stored.deadLettered}, records reported for retry ${r.stored.failed}`);
    }
    out.push(`  Per million readings, where it goes${' '.repeat(14)}${perReading.map((r) => `   N=${r.n} DDB     N=${r.n} TS`).join('')}`);
    for (const [i, [label]] of perReading[0]!.ddbLines.entries()) {
      const tsValue = (r: (typeof perReading)[number]) => r.tsLines.find((l) => l[0] === label)?.[1];
      out.push(`    ${label.padEnd(46)}${perReading.map((r) => `${cell(r.ddbLines[i]![1])}  ${cell(tsValue(r))}`).join('  ')}`);
    }
    out.push(`    ${'Timestream writes'.padEnd(46)}${perReading.map((r) => `${cell(undefined)}  ${cell(r.tsLines.find((l) => l[0] === 'Timestream writes')?.[1])}`).join('  ')}`);
    out.push(`    (DynamoDB telemetry chunk write units per reading: ${perReading.map((r) => `N=${r.n} ${f(r.chunkUnitsPerReading, 4)}`).join(', ')})`);
    const ten = perReading[1]!;
    out.push(`  target at 10 readings per message <= $0.15 per million readings: ${Math.max(ten.ddb, ten.ts) <= 0.15 ? 'MET' : ten.ddb <= 0.15 || ten.ts <= 0.15 ? 'MET with one store' : 'MISSED'} (DynamoDB $${f(ten.ddb, 4)}, Timestream $${f(ten.ts, 4)})`);
    out.push(`default config: $${f(ddbTotal + liveFanOut, 4)} per million messages (ingest + live updates, 1 all-devices subscriber + 1 single-device subscriber)`);
    out.push(`per-change fan-out: $${f(ddbTotal + perChangeFanOut, 4)} per million messages (same run)`);
    console.log(out.join('\n'));
  } finally {
    clients.destroy();
    telemetryTable.destroy();
    child.disconnect();
    dynamoChild.disconnect();
  }
}

/** Budget per million messages for ingest plus live updates in the default configuration. */
const TARGET = 0.65;
const DYNAMO_MS = 5;
const TIMESTREAM_MS = 20;
const NAIVE_SERVICE_MS = DYNAMO_MS + TIMESTREAM_MS;

/** Runs the batches in order; `telemetryMs` models the telemetry store's sequential service rounds of the batch just run. */
async function runBatches(batches: SimulatedBatch[], handler: ReturnType<typeof createIngestHandler>, telemetryMs: (batch: SimulatedBatch) => number, clock?: { now: number }) {
  let billedMs = 0;
  const cpuStart = process.cpuUsage();
  for (const batch of batches) {
    // The store's clock: the batch runs when its last record arrived.
    if (clock) clock.now = batch.outputs.reduce((m, o) => Math.max(m, o.receivedAt), 0);
    const t = performance.now();
    await handler(batch.event);
    const devices = new Set(batch.outputs.map((o) => o.thingName)).size;
    // Sequential rounds: device-state writes 32 at a time (the adapter's default), then the telemetry store's.
    const modelled = Math.ceil(devices / 32) * DYNAMO_MS + telemetryMs(batch);
    billedMs += Math.ceil(performance.now() - t + modelled);
  }
  const cpu = process.cpuUsage(cpuStart);
  return { invocations: batches.length, billedMs, cpuMicros: cpu.user + cpu.system };
}

async function cpuMicros(work: () => Promise<void>): Promise<number> {
  const start = process.cpuUsage();
  await work();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

const sum = (lines: Array<[string, number]>) => lines.reduce((s, [, v]) => s + v, 0);
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const pad = (s: string) => s.padStart(12);

// ---------------------------------------------------------------- entry: the bench, or the sink (child process)

if (process.argv.includes('--dynamo')) {
  // The Telemetry tables are real (dynalite), so the store's reads see its writes and every call is billed by its consumed capacity.
  const dynamo = await startDynalite();
  await ensureTables(dynamo.endpoint, { [TELEMETRY_TABLE.id]: 'Telemetry' }, [TELEMETRY_TABLE]);
  await ensureTables(dynamo.endpoint, { [TELEMETRY_TABLE.id]: 'TelemetryRollups' }, [TELEMETRY_TABLE]);
  process.send?.(dynamo.endpoint);
  process.on('disconnect', () => process.exit(0));
} else if (process.argv.includes('--sink')) {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      let body: unknown = {};
      if (target.endsWith('.BatchWriteItem')) body = { UnprocessedItems: {} };
      else if (target.endsWith('.WriteRecords')) body = { RecordsIngested: { Total: 0, MemoryStore: 0, MagneticStore: 0 } };
      else if (target.endsWith('.SendMessageBatch')) {
        const entries = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Entries: Array<{ Id: string }> }).Entries;
        body = { Successful: entries.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })), Failed: [] };
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(body));
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}
