/**
 * The local AWS IoT Core, as one start step of the local platform: the CA, the mutual-TLS
 * broker, the rules engine over the rule definitions the CDK deploys, the Kinesis stand-in in
 * front of the ingest handler and the presence handler, all called with the cloud's event
 * shapes and the same DynamoDB adapters; and the change feed relayed onto the bus
 * (`internal/device-changes/<id>`), which also lets the broker cut off revoked devices.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbDeviceCredentialStore } from '../../adapters/dynamodb/device-credentials-store.js';
import { DynamoDbDeviceStateWriter } from '../../adapters/dynamodb/device-state-writer.js';
import { InMemoryDeadLetterQueue } from '../../adapters/sqs/in-memory-dead-letter-queue.js';
import { JsonLinesDeadLetterQueue } from '../../adapters/sqs/json-lines-dead-letter-queue.js';
import { DynamoDbTelemetryStore } from '../../adapters/telemetry/dynamodb-telemetry-store.js';
import { encodeDeviceChange, encodeDeviceChangeBatch } from '../../contracts/device-change-codec.js';
import { alarmTopic, changeTopic, TELEMETRY_BATCH_TOPIC } from '../../contracts/topics.js';
import { chunks } from '../../change-feed/chunks.js';
import { TELEMETRY_BATCH_MAX_CHANGES } from '../../contracts/live-updates.js';
import { localIngestSettings, type IngestSettings } from '../../contracts/ingest-settings.js';
import { lineLogger } from '../../adapters/logging/line-logger.js';
import { DISCARDED_METRICS } from '../../adapters/metrics/discarded-metrics.js';
import { composeIngestFunction } from '../../functions/ingest-function.js';
import { composePresenceFunction } from '../../functions/presence-function.js';
import type { DeviceControlDeps } from '../../devices/device-control-handler.js';
import { composeDeviceControlFunction } from '../../functions/device-control-function.js';
import type { DeadLetterQueue } from '../../ports/dead-letter.js';
import type { DeviceCredentialStore } from '../../ports/device-credentials.js';
import type { ChangePublisher } from '../../ports/change-feed.js';
import type { MessageBus } from '../../ports/message-bus.js';
import type { AlarmEvaluatorPort } from '../../alarms/alarm-evaluation.js';
import type { AlarmPublisher } from '../../alarms/alarm-notification.js';
import { startBroker, type LocalBroker } from './broker.js';
import { openLocalCa, type LocalCa } from './ca.js';
import { KinesisBatcher } from '../event-source-mapping/kinesis-batcher.js';
import { startRulesRunner } from './rules-runner.js';
import { INGEST_REPLAY_WINDOW_SECONDS, INGEST_STREAM_MAPPING } from '../../contracts/stream-mappings.js';
import type { KinesisStreamRecord } from 'aws-lambda';
import type { KinesisFailureRecord } from '../../devices/kinesis-failure-record.js';
import type { DiscardCondition } from '../event-source-mapping/event-source-mapping.js';
import { ingestFailureDir, LocalFailureDestination } from '../event-source-mapping/failure-destination.js';

/**
 * Records the local ingest stream holds before the broker holds back PUBACKs (and stops reading
 * the publishers' sockets). Two minutes of the acceptance load (2,000 msg/s), about 1 KB each:
 * a burst the handler cannot keep up with is absorbed, a sustained overload slows the devices
 * down instead of growing the data directory without end. Only one batch of them is in memory
 * (the mapping's window); the rest wait in the stream's files, so a crash loses none and a
 * backlog costs disk, not heap.
 */
export const LOCAL_INGEST_MAX_PENDING = 250_000;

/** Where the local dead-letter queue keeps its letters (JSON lines). */
export const deadLetterFile = (dataDir: string): string => join(dataDir, 'dead-letters.jsonl');

/** Options of {@link startLocalIotCore}. */
export interface LocalIotCoreOptions {
  /** Document client through the change-capture proxy. */
  readonly doc: DynamoDBDocumentClient;
  readonly tables: { readonly devices: string; readonly telemetry: string };
  /** Alarm rules evaluated in the ingest batches. */
  readonly alarms?: AlarmEvaluatorPort;
  /** Alarm transitions to relay onto the bus (internal/alarm-changes/<deviceId>, for WatchAlarms). */
  readonly alarmFeed?: { addLive(publisher: AlarmPublisher): void };
  /** The change feed to relay onto the bus. */
  readonly changeFeed?: { addPublisher(publisher: ChangePublisher): void };
  /** CA and dead letters live here; a temporary directory when absent (ephemeral runs). */
  readonly dataDir?: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 8883 */
  readonly port?: number;
  /** The commands and twin use cases behind the device control rules; without them those rules' events are refused. */
  readonly deviceControl?: Pick<DeviceControlDeps, 'commands' | 'twins'>;
  /** @default env INGEST_BATCH_SIZE / INGEST_BATCH_WINDOW_SECONDS, else DEFAULT_LOCAL_INGEST_SETTINGS (1 s window) */
  readonly ingest?: IngestSettings;
  /** Retries of the ingest event source and its first delay. @default INGEST_STREAM_MAPPING.retryAttempts, from 100 ms */
  readonly ingestRetry?: { readonly attempts: number; readonly baseMs: number };
  /** Records the ingest stream holds before PUBACKs wait. @default LOCAL_INGEST_MAX_PENDING */
  readonly maxPendingRecords?: number;
  readonly log?: (line: string) => void;
}

/** The running local IoT Core. */
export interface LocalIotCore {
  readonly broker: LocalBroker;
  readonly bus: MessageBus;
  readonly ca: LocalCa;
  readonly batcher: KinesisBatcher;
  readonly deadLetters: DeadLetterQueue;
  readonly ingest: IngestSettings;
  /** Certificate bindings (Devices table): the broker admits only a registered thing's bound, unrevoked certificate. */
  readonly credentials: DeviceCredentialStore;
  /** Delivers everything published so far through the rules, the stream and the handlers. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the broker and the device pipeline behind it. */
export async function startLocalIotCore(options: LocalIotCoreOptions): Promise<LocalIotCore> {
  const log = options.log ?? (() => undefined);
  const ingest = options.ingest ?? localIngestSettings();
  const scratch = options.dataDir ? undefined : await mkdtemp(join(tmpdir(), 'iot-local-'));
  const dataDir = options.dataDir ?? scratch!;
  const ca = await openLocalCa(dataDir).catch(async (error: unknown) => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
    throw error;
  });
  const deadLetters: DeadLetterQueue = options.dataDir ? new JsonLinesDeadLetterQueue(deadLetterFile(dataDir)) : new InMemoryDeadLetterQueue();

  const devices = new DynamoDbDeviceStateWriter(options.doc, options.tables.devices);
  // The functions as their Lambda modules compose them; only warnings and errors reach the console.
  const ingestHandler = composeIngestFunction({
    devices,
    telemetry: new DynamoDbTelemetryStore(options.doc, options.tables.telemetry),
    deadLetters,
    ...(options.alarms && { alarms: options.alarms }),
    logger: lineLogger('ingest', log, 'warn'),
    metrics: DISCARDED_METRICS,
  });
  const presenceHandler = composePresenceFunction({ devices, deadLetters, logger: lineLogger('presence', log, 'warn'), metrics: DISCARDED_METRICS });
  const deviceControlHandler =
    options.deviceControl &&
    composeDeviceControlFunction({ ...options.deviceControl, deadLetters, logger: lineLogger('device control', log, 'warn'), metrics: DISCARDED_METRICS });
  const credentials = new DynamoDbDeviceCredentialStore(options.doc, options.tables.devices);

  // The ingest stream keeps its records under the data directory (durable before the PUBACK,
  // replayed on restart, readable for the stream's retention); an ephemeral run keeps them in memory.
  const failures = new LocalFailureDestination(ingestFailureDir(dataDir));
  const batcher: KinesisBatcher = new KinesisBatcher({
    settings: ingest,
    handler: ingestHandler,
    log,
    ...(options.dataDir && { dir: join(options.dataDir, 'streams', 'ingest') }),
    maxPending: options.maxPendingRecords ?? LOCAL_INGEST_MAX_PENDING,
    maxRecordAgeMs: INGEST_STREAM_MAPPING.maxRecordAgeSeconds * 1000,
    retentionMs: (INGEST_STREAM_MAPPING.maxRecordAgeSeconds + INGEST_REPLAY_WINDOW_SECONDS) * 1000,
    retryAttempts: options.ingestRetry?.attempts ?? INGEST_STREAM_MAPPING.retryAttempts,
    ...(options.ingestRetry && { retryBaseMs: options.ingestRetry.baseMs }),
    // As the cloud's mapping does: the failure destination gets the range only; the records stay
    // in the stream's directory for its retention, where `iotctl ingest replay` reads them.
    onDiscard: (records, _reason, failure) => failures.send(failureRecord(batcher.arn, records, failure)),
  });

  await batcher.recover();
  let runner: ReturnType<typeof startRulesRunner>;
  const broker = await startBroker({
    ca,
    host: options.host,
    port: options.port,
    log,
    credentials,
    // PUBACK only once the message's Kinesis record is on disk; while the stream is full the
    // gate waits, so the broker stops reading that client's socket.
    acceptPublish: (message) => runner.accept(message),
  }).catch(async (error: unknown) => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
    throw error;
  });

  runner = startRulesRunner({
    source: broker,
    log,
    gatesClientPublishes: true,
    targets: {
      kinesis: async (_rule, partitionKey, data) => {
        await batcher.put(partitionKey, data);
      },
      lambda: async (_rule, handler, event) => {
        if (handler === 'presence') await presenceHandler(event);
        else if (handler === 'deviceControl' && deviceControlHandler) await deviceControlHandler(event);
        else throw new Error(`No local Lambda named ${handler}`);
      },
      error: async (rule, input, reason) => {
        await deadLetters.send([
          {
            source: rule.target.kind === 'kinesis' ? 'ingest' : 'presence',
            reason: 'RULE_ERROR',
            detail: `${rule.ruleName}: ${reason}`,
            ...(input.clientId && { clientId: input.clientId }),
            payload: input.payload.toString('base64'),
            payloadBytes: input.payload.byteLength,
            receivedAt: input.receivedAt,
            deadLetteredAt: new Date().toISOString(),
          },
        ]);
      },
    },
  });

  const bus = broker.bus;
  let stopped = false;
  options.changeFeed?.addPublisher({
    // Once the broker is gone nobody can be subscribed, so changes are dropped instead of retried.
    publish: async (change) => {
      if (!stopped) await bus.publish(changeTopic(change.device.id), encodeDeviceChange(change), { qos: 1 });
    },
    publishTelemetryBatch: async (changes) => {
      for (const slice of chunks(changes, TELEMETRY_BATCH_MAX_CHANGES)) {
        if (!stopped) await bus.publish(TELEMETRY_BATCH_TOPIC, encodeDeviceChangeBatch(slice), { qos: 1 });
      }
    },
  });
  // What the ingest stream holds, every 10 s while it holds anything: a growing backlog is visible.
  const backlog = setInterval(() => {
    const stats = batcher.stats();
    if (stats.pending > 0) log(`ingest stream: ${stats.pending} held (peak ${stats.peakPending}), ${stats.delivered} delivered, ${stats.put} put`);
  }, 10_000);
  backlog.unref();
  options.alarmFeed?.addLive({
    publish: async (n) => {
      if (!stopped) await bus.publish(alarmTopic(n.deviceId), JSON.stringify(n), { qos: 1 });
    },
  });
  log(`mqtt: ingest batches of up to ${ingest.batchSize} records or ${ingest.batchWindowSeconds} s`);

  const flush = async () => {
    await runner.flush();
    await batcher.flush();
    await runner.flush();
  };
  return {
    broker,
    bus,
    ca,
    batcher,
    deadLetters,
    ingest,
    credentials,
    flush,
    async stop() {
      // The broker first: its disconnect events still flow through the rules to the presence handler.
      stopped = true;
      clearInterval(backlog);
      await broker.stop();
      await runner.stop();
      await batcher.stop();
      if (scratch) await rm(scratch, { recursive: true, force: true });
    },
  };
}

/** Lambda's on-failure message for records given up on: the range, never the data. */
function failureRecord(streamArn: string, records: readonly KinesisStreamRecord[], failure: DiscardCondition): KinesisFailureRecord {
  const first = records[0]!;
  const last = records[records.length - 1]!;
  const region = streamArn.split(':')[3] ?? 'us-east-1';
  return {
    requestContext: {
      requestId: randomUUID(),
      functionArn: `arn:aws:lambda:${region}:000000000000:function:local-ingest`,
      condition: failure.condition,
      approximateInvokeCount: failure.invocations,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: new Date().toISOString(),
    KinesisBatchInfo: {
      shardId: first.eventID.split(':')[0]!,
      startSequenceNumber: first.kinesis.sequenceNumber,
      endSequenceNumber: last.kinesis.sequenceNumber,
      approximateArrivalOfFirstRecord: new Date(first.kinesis.approximateArrivalTimestamp * 1000).toISOString(),
      approximateArrivalOfLastRecord: new Date(last.kinesis.approximateArrivalTimestamp * 1000).toISOString(),
      batchSize: records.length,
      streamArn,
    },
  };
}
