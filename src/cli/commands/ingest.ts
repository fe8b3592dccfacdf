/**
 * `iotctl ingest replay`: what the ingest event source gave up on, read back from the stream and
 * sent through the ingest function again. The failed ranges come from the failure destination
 * (locally `<data dir>/ingest-failures/`, in AWS the IngestFailureQueueUrl queue), the records
 * from the stream (locally `<data dir>/streams/ingest/`, in AWS Kinesis through the range's
 * stream ARN); each message is deleted once its range is done. Writes go to the platform's
 * tables (locally through the DynamoDB endpoint of `iotctl local`, so the change feed sees them).
 */
import { resolve } from 'node:path';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SQSClient } from '@aws-sdk/client-sqs';
import { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createDocumentClient } from '../../adapters/dynamodb/client.js';
import { DynamoDbDeviceStateWriter } from '../../adapters/dynamodb/device-state-writer.js';
import { KinesisRangeReader, type KinesisSender } from '../../adapters/kinesis/kinesis-range-reader.js';
import { lineLogger } from '../../adapters/logging/line-logger.js';
import { DISCARDED_METRICS } from '../../adapters/metrics/discarded-metrics.js';
import { JsonLinesDeadLetterQueue } from '../../adapters/sqs/json-lines-dead-letter-queue.js';
import { SqsDeadLetterQueue } from '../../adapters/sqs/sqs-dead-letter-queue.js';
import { SqsFailureQueue } from '../../adapters/sqs/sqs-failure-queue.js';
import { DynamoDbTelemetryStore } from '../../adapters/telemetry/dynamodb-telemetry-store.js';
import { TimestreamTelemetryStore } from '../../adapters/telemetry/timestream-telemetry-store.js';
import { replayFailedRanges, type FailureQueue, type RangeOutcome, type StreamRangeReader, type ReplaySummary } from '../../devices/ingest-replay.js';
import { ReplayAccounting } from '../../devices/replay-accounting.js';
import { composeIngestFunction } from '../../functions/ingest-function.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localTableNames } from '../../local/dynamodb/dynalite.js';
import { ingestFailureDir, LocalFailureDestination } from '../../local/event-source-mapping/failure-destination.js';
import { LocalStreamRangeReader } from '../../local/event-source-mapping/local-stream-reader.js';
import { deadLetterFile } from '../../local/iot-core/local-iot-core.js';
import { LOCAL_TABLE_PREFIX } from '../../local/platform.js';
import type { DeadLetterQueue } from '../../ports/dead-letter.js';
import type { TelemetryWriter } from '../../ports/telemetry-store.js';
import { reportingErrors, stderrLines, stdoutLines, type LineWriter } from '../output.js';
import type { SqsSender } from './dlq.js';
import { DEFAULT_LOCAL_ENDPOINT } from './device.js';

interface ReplayOptions {
  readonly target: 'local' | 'aws';
  readonly dataDir: string;
  readonly endpoint: string;
  readonly failureQueueUrl?: string;
  readonly deadLetterQueueUrl?: string;
  readonly devicesTable?: string;
  readonly telemetryTable?: string;
  readonly timestreamDatabase?: string;
  readonly timestreamTable?: string;
  readonly dropExpired?: boolean;
  readonly batchSize: number;
}

/** The AWS clients of the `--target aws` replay (tests pass recorders). */
export interface ReplayClients {
  readonly sqs?: () => SqsSender;
  readonly kinesis?: () => KinesisSender;
  /** Pause between GetRecords calls of a shard. @default 250 ms */
  readonly getRecordsPauseMs?: number;
}

/** The closing line: `replayed N records = stored N + dead-lettered N + failed N`, then what was left. */
export function formatReplay(summary: ReplaySummary, counts: { stored: number; deadLettered: number }): string {
  const extra = [
    summary.repeated > 0 && `${summary.repeated} record(s) named by two ranges sent once`,
    summary.expired > 0 && `${summary.expired} range(s) aged out of the stream`,
    summary.other > 0 && `${summary.other} other message(s) left in the queue`,
  ].filter(Boolean);
  const sum = counts.stored + counts.deadLettered + summary.failed;
  // A version-2 message holds several readings: stored and dead-lettered count readings.
  const readings = sum !== summary.records ? ` (${sum - summary.failed} readings)` : '';
  return `replayed ${summary.records} records${readings} = stored ${counts.stored} + dead-lettered ${counts.deadLettered} + failed ${summary.failed}${extra.length > 0 ? `; ${extra.join(', ')}` : ''}`;
}

function rangeLine(outcome: RangeOutcome): string {
  const { range } = outcome;
  const name = `${range.shardId} ${range.startSequenceNumber}..${range.endSequenceNumber} (${range.batchSize} record(s))`;
  if (outcome.expired) return `${name}: ${outcome.expired}; message ${outcome.deleted ? 'deleted (--drop-expired)' : 'kept (--drop-expired deletes it)'}`;
  const repeated = outcome.repeated > 0 ? `, ${outcome.repeated} already sent through an overlapping range` : '';
  return `${name}: ${outcome.records} sent${repeated}, ${outcome.failed} failed; message ${outcome.deleted ? 'deleted' : 'kept for the next replay'}`;
}

/** Adds `iotctl ingest`. */
export function register(program: Command, write: LineWriter = stdoutLines, writeError: LineWriter = stderrLines, clients: ReplayClients = {}): void {
  const ingest = program.command('ingest').description('the telemetry ingest pipeline');
  ingest
    .command('replay')
    .description('reprocess the stream ranges the ingest event source gave up on; prints replayed N records = stored N + dead-lettered N + failed N')
    .addOption(new Option('--target <target>', 'which platform').choices(['local', 'aws']).default('local'))
    .option('--data-dir <dir>', 'local: data directory of `iotctl local`', '.local')
    .option('--endpoint <url>', 'local: DynamoDB endpoint of `iotctl local` (env IOT_DYNAMODB_ENDPOINT)', process.env.IOT_DYNAMODB_ENDPOINT ?? DEFAULT_LOCAL_ENDPOINT)
    .option('--failure-queue-url <url>', 'aws: the IngestFailureQueueUrl stack output (env INGEST_FAILURE_QUEUE_URL)', process.env.INGEST_FAILURE_QUEUE_URL)
    .option('--dead-letter-queue-url <url>', 'aws: the IngestDeadLetterQueueUrl stack output (env INGEST_DEAD_LETTER_QUEUE_URL)', process.env.INGEST_DEAD_LETTER_QUEUE_URL)
    .option('--devices-table <name>', 'aws: the DevicesTableName stack output (env DEVICES_TABLE_NAME)', process.env.DEVICES_TABLE_NAME)
    .option('--telemetry-table <name>', 'aws: the TelemetryTableName stack output, for the dynamodb telemetry store (env TELEMETRY_TABLE_NAME)', process.env.TELEMETRY_TABLE_NAME)
    .option('--timestream-database <name>', 'aws: the Timestream database, for the timestream telemetry store')
    .option('--timestream-table <name>', 'aws: the Timestream table, for the timestream telemetry store')
    .option('--drop-expired', 'delete messages whose range aged out of the stream (they can never be replayed)')
    .option('--batch-size <n>', 'records per handler invocation', (value) => positiveInteger(value, '--batch-size'), 1000)
    .action(
      reportingErrors('ingest replay', writeError, async (options: ReplayOptions) => {
        const accounting = new ReplayAccounting();
        let queue: FailureQueue;
        let reader: StreamRangeReader;
        let telemetry: TelemetryWriter;
        let deadLetters: DeadLetterQueue;
        let devicesTable: string;
        let doc: ReturnType<typeof createDocumentClient>;
        if (options.target === 'local') {
          const dataDir = resolve(options.dataDir);
          const names = localTableNames(LOCAL_TABLE_PREFIX);
          doc = createDocumentClient({ endpoint: options.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 3 });
          queue = new LocalFailureDestination(ingestFailureDir(dataDir));
          reader = new LocalStreamRangeReader(resolve(dataDir, 'streams', 'ingest'));
          telemetry = new DynamoDbTelemetryStore(doc, names.Telemetry!);
          deadLetters = new JsonLinesDeadLetterQueue(deadLetterFile(dataDir));
          devicesTable = names.Devices!;
        } else {
          const timestream = options.timestreamDatabase && options.timestreamTable;
          if (!options.failureQueueUrl || !options.deadLetterQueueUrl || !options.devicesTable || (!options.telemetryTable && !timestream)) {
            throw new InvalidArgumentError(
              '--target aws needs --failure-queue-url, --dead-letter-queue-url, --devices-table and --telemetry-table (or --timestream-database and --timestream-table): stack outputs IngestFailureQueueUrl, IngestDeadLetterQueueUrl, DevicesTableName, TelemetryTableName',
            );
          }
          const sqs = clients.sqs?.() ?? new SQSClient({});
          doc = createDocumentClient({});
          queue = new SqsFailureQueue(sqs, options.failureQueueUrl);
          reader = new KinesisRangeReader(clients.kinesis?.() ?? new KinesisClient({}), { pauseMs: clients.getRecordsPauseMs ?? 250 });
          telemetry = options.telemetryTable
            ? new DynamoDbTelemetryStore(doc, options.telemetryTable)
            : new TimestreamTelemetryStore(new TimestreamWriteClient({}), { databaseName: options.timestreamDatabase!, tableName: options.timestreamTable! });
          deadLetters = new SqsDeadLetterQueue(sqs as SQSClient, options.deadLetterQueueUrl);
          devicesTable = options.devicesTable;
        }
        try {
          // The Lambda's composition; alarm rules are left out because they ignore readings at or
          // before the last one they evaluated, which a replayed reading always is.
          const handler = composeIngestFunction({
            devices: new DynamoDbDeviceStateWriter(doc, devicesTable),
            telemetry: accounting.telemetry(telemetry),
            deadLetters: accounting.deadLetters(deadLetters),
            logger: lineLogger('ingest', writeError, 'warn'),
            metrics: DISCARDED_METRICS,
          });
          const summary = await replayFailedRanges({
            queue,
            reader,
            handler,
            batchSize: options.batchSize,
            dropExpired: options.dropExpired === true,
            onRange: (outcome) => write(rangeLine(outcome)),
          });
          write(formatReplay(summary, accounting.counts()));
          if (summary.failed > 0 || (summary.expired > 0 && !options.dropExpired)) process.exitCode = 1;
        } finally {
          doc.destroy();
        }
      }),
    );
}

function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError(`${flag} must be an integer in 1..10000`);
  return n;
}
