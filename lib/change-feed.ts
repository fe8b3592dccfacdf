import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CHANGE_STREAM_BATCH_SIZE, CHANGE_STREAM_MAPPING } from '../src/contracts/stream-mappings.js';
import { VARIABLES } from '../src/contracts/environment/variables.js';
import { LAMBDA_FUNCTIONS } from '../src/contracts/lambda-functions.js';
import { grantCertificateRetirement } from './certificate-retirement.js';
import { integerContextFlag } from './context-flags.js';
import { PlatformFunction } from './platform-function.js';
import type { Storage } from './storage.js';
import { addTableStreamSource } from './table-stream-source.js';
import { COMMANDS_TABLE } from '../src/contracts/tables.js';

/**
 * Reads and validates the `liveTelemetryUpdates` context flag (`-c liveTelemetryUpdates=false`).
 * `false` stops fanning telemetry-only changes (lastSeen/readings) out to AppSync and IoT,
 * which otherwise cost more than the ingest path itself (see `npm run bench:ingest`);
 * registry and presence changes are always published.
 * @default true when the flag is absent
 */

/** Reserved concurrency of the events function unless context says otherwise. */
export const DEFAULT_EVENTS_RESERVED_CONCURRENCY = 10;

export function liveTelemetryUpdatesFromContext(scope: Construct): boolean {
  const value: unknown = scope.node.tryGetContext('liveTelemetryUpdates') ?? true;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(
    `Invalid context flag liveTelemetryUpdates=${JSON.stringify(value)}: use -c liveTelemetryUpdates=true or -c liveTelemetryUpdates=false`,
  );
}

/** Props of {@link ChangeFeed}. */
export interface ChangeFeedProps {
  /** The tables: the Devices stream feeds the function, which keeps the Stats counters. */
  readonly storage: Storage;
  /**
   * Stream records per invocation.
   * @default CHANGE_STREAM_BATCH_SIZE (100)
   */
  readonly batchSize?: number;
  /**
   * Retries of a failing batch (halved each time by bisection) before its records go to the DLQ.
   * @default CHANGE_STREAM_MAPPING.retryAttempts (5)
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this go to the DLQ instead of being retried (streams keep 24 h).
   * @default CHANGE_STREAM_MAPPING.maxRecordAgeSeconds (6 h)
   */
  readonly maxRecordAge?: Duration;
  /**
   * Concurrent batches per shard. 1 keeps each device's changes in order, which subscribers
   * (`deviceUpdated`, WatchDevices) rely on.
   * @default CHANGE_STREAM_MAPPING.parallelizationFactor (1)
   */
  readonly parallelizationFactor?: number;
  /**
   * Reserved concurrency of the events function, so resolver floods cannot starve the change
   * feed. DynamoDB Streams run one batch per shard (parallelization 1), and an on-demand table
   * starts with a handful of partitions.
   * @default - context `eventsReservedConcurrency` (`off` for none), else DEFAULT_EVENTS_RESERVED_CONCURRENCY
   */
  readonly reservedConcurrency?: number;
  /**
   * Whether telemetry-only changes reach `deviceUpdated` subscribers and WatchDevices live
   * (env PUBLISH_TELEMETRY_CHANGES of the events function). Registry and presence changes always do.
   * @default true
   */
  readonly liveTelemetryUpdates?: boolean;
  /**
   * Handler source, relative to the repository root.
   * @default 'lambdas/events/index.ts'
   */
  readonly entry?: string;
}

/**
 * The change feed: DynamoDB Streams of the Devices table → the events Lambda
 * (`lambdas/events/index.ts`), which keeps the stats counters exact and publishes each change to
 * the subscribers other constructs configure on `fn`. Records that still fail after retries go
 * to an encrypted SQS dead-letter queue.
 */
export class ChangeFeed extends Construct {
  /** The events function; publishers add their environment variables and grants to it. */
  public readonly fn: PlatformFunction;
  /** Where the stream event source sends the metadata of batches it gave up on. */
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ChangeFeedProps) {
    super(scope, id);
    const { storage } = props;

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Undelivered changes are state: keep them for a replay even if the stack goes away.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the change feed; a DLQ of a DLQ would only move the same records again.',
    });

    this.fn = new PlatformFunction(this, 'EventsFunction', {
      entry: props.entry ?? LAMBDA_FUNCTIONS.changeFeed.entry,
      serviceName: LAMBDA_FUNCTIONS.changeFeed.serviceName,
      description: 'Devices stream → stats counters and change publishers; Commands stream → command publishers',
      reservedConcurrentExecutions:
        props.reservedConcurrency ?? integerContextFlag(this, 'eventsReservedConcurrency', DEFAULT_EVENTS_RESERVED_CONCURRENCY, { min: 1, max: 10_000 }),
    });
    storage.grantStatsProjection(this.fn);
    this.fn.addEnvironment(VARIABLES.publishTelemetryChanges, String(props.liveTelemetryUpdates ?? true));

    // The Devices stream (registry changes) and the Commands stream (status transitions), with the
    // same per-shard ordering and retry settings.
    for (const table of [storage.devicesTable, storage.table(COMMANDS_TABLE)]) {
      addTableStreamSource(this.fn, table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: props.batchSize ?? CHANGE_STREAM_BATCH_SIZE,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: props.retryAttempts ?? CHANGE_STREAM_MAPPING.retryAttempts,
        maxRecordAge: props.maxRecordAge ?? Duration.seconds(CHANGE_STREAM_MAPPING.maxRecordAgeSeconds),
        parallelizationFactor: props.parallelizationFactor ?? CHANGE_STREAM_MAPPING.parallelizationFactor,
        onFailure: new SqsDlq(this.deadLetterQueue),
      });
    }
    this.retireDeletedCredentials();
  }

  /**
   * Credentials follow the device: on DELETED the events function revokes the deleted device's
   * certificate, detaches its policies and its thing (src/adapters/iot/iot-credential-retirer.ts).
   */
  private retireDeletedCredentials(): void {
    this.fn.addEnvironment(VARIABLES.retireDeletedCredentials, 'true');
    grantCertificateRetirement(this, 'RetireDeletedCredentials', this.fn.executionRole, {
      certificate: "The certificate to retire is the deleted device's, known only from the stream record at run time; certificates are this account's device certificates.",
      thing: "Detaching the certificate from the deleted device's thing, whose name (the device id) is known only at run time.",
    });
  }
}
