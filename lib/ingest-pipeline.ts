import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnTopicRule } from 'aws-cdk-lib/aws-iot';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-timestream';
import { Construct } from 'constructs';
import type { TelemetryReadConsumer } from './api.js';
import { ALARMS_TABLE, DEVICES_TABLE, TELEMETRY_TABLE } from '../src/contracts/tables.js';
import { DEFAULT_INGEST_SETTINGS, DEFAULT_INGEST_SHARD_COUNT, INGEST_SETTINGS_CONTEXT, ingestSettings } from '../src/contracts/ingest-settings.js';
import { PRESENCE_RULE, TELEMETRY_RULE, type TopicRuleDefinition } from '../src/contracts/rules.js';
import { INGEST_REPLAY_WINDOW_CONTEXT, INGEST_REPLAY_WINDOW_SECONDS, INGEST_STREAM_MAPPING } from '../src/contracts/stream-mappings.js';
import { VARIABLES } from '../src/contracts/environment/variables.js';
import { LAMBDA_FUNCTIONS } from '../src/contracts/lambda-functions.js';
import { TELEMETRY_RETENTION_CONTEXT, TELEMETRY_RETENTION_VARIABLES, telemetryRetention } from '../src/contracts/telemetry-retention.js';
import { integerContextFlag } from './context-flags.js';
import { PlatformFunction } from './platform-function.js';
import type { Storage } from './storage.js';

/** Props of {@link IngestPipeline}. */
export interface IngestPipelineProps {
  /** The tables: Devices (state writes) and, for `dynamodb`, Telemetry. */
  readonly storage: Storage;
  /** Where telemetry points go (the stack's `telemetryStore` flag). */
  readonly telemetryStore: 'dynamodb' | 'timestream';
  /**
   * Records per ingest invocation.
   * @default - context `ingestBatchSize`, else DEFAULT_INGEST_SETTINGS.batchSize (10,000)
   */
  readonly batchSize?: number;
  /**
   * Maximum batching window of the ingest event source.
   * @default - context `ingestBatchWindowSeconds`, else DEFAULT_INGEST_SETTINGS (60 s)
   */
  readonly batchWindow?: Duration;
  /**
   * Shards of the provisioned ingest stream.
   * @default - context `ingestShardCount`, else DEFAULT_INGEST_SHARD_COUNT (8)
   */
  readonly shardCount?: number;
  /**
   * Days a raw telemetry point is kept (DynamoDB TTL, Timestream magnetic store).
   * @default - context `telemetryRetentionDays`, else 30
   */
  readonly retentionDays?: number;
  /**
   * Reserved concurrency of the ingest function: what it can always get, so a flood of API
   * calls (resolver invocations) cannot starve ingestion.
   * @default - context `ingestReservedConcurrency` (`off` for none), else shards x parallelization factor:
   *   the most batches the Kinesis event source ever runs at once
   */
  readonly reservedConcurrency?: number;
  /** @default 'lambdas/ingest/index.ts' */
  readonly ingestEntry?: string;
  /** @default 'lambdas/presence/index.ts' */
  readonly presenceEntry?: string;
}

/**
 * The device data path (docs/architecture.md, telemetry and presence flows): telemetry rule (Basic Ingest) → Kinesis
 * (partition key = thing name) → ingest Lambda → Devices state + telemetry store; lifecycle
 * rule → presence Lambda. Every rule has an SQS error action; the event source sends what it
 * gives up on to an SQS queue; records the handlers refuse go to the dead-letter queue with a
 * reason. Rule SQL and targets come from src/contracts/rules.ts, shared with the local runner.
 */
export class IngestPipeline extends Construct {
  /** The ingest stream. */
  public readonly stream: Stream;
  /** How long the stream keeps records: the mapping's maximum record age plus the replay window. */
  public readonly streamRetention: Duration;
  public readonly ingestFunction: PlatformFunction;
  public readonly presenceFunction: PlatformFunction;
  /** Records the handlers refused, each with its reason and original payload. */
  public readonly deadLetterQueue: Queue;
  /** Messages a rule action could not deliver (IoT rule error actions). */
  public readonly ruleErrorQueue: Queue;
  /** Batches the ingest event source and presence invocations gave up on after retries. */
  public readonly failureQueue: Queue;
  public readonly telemetryRule: CfnTopicRule;
  public readonly presenceRule: CfnTopicRule;
  /** The DynamoDB telemetry table, when `telemetryStore` is `dynamodb`. */
  private readonly telemetryTable?: ITable;
  /** Timestream database and table, when `telemetryStore` is `timestream`. */
  public readonly timestream?: { readonly database: CfnDatabase; readonly table: CfnTable };

  constructor(scope: Construct, id: string, props: IngestPipelineProps) {
    super(scope, id);
    const settings = ingestSettings({
      batchSize: props.batchSize ?? this.node.tryGetContext(INGEST_SETTINGS_CONTEXT.batchSize),
      batchWindowSeconds: props.batchWindow?.toSeconds() ?? this.node.tryGetContext(INGEST_SETTINGS_CONTEXT.batchWindowSeconds),
    });
    const shardCount = Number(props.shardCount ?? this.node.tryGetContext('ingestShardCount') ?? DEFAULT_INGEST_SHARD_COUNT);
    if (!Number.isInteger(shardCount) || shardCount < 1) throw new Error(`ingestShardCount must be a positive integer, got ${shardCount}`);
    // Per resolution, by context (src/contracts/telemetry-retention.ts); DynamoDB TTL applies each one.
    const retention = telemetryRetention({
      raw: props.retentionDays ?? this.node.tryGetContext(TELEMETRY_RETENTION_CONTEXT.raw),
      minute: this.node.tryGetContext(TELEMETRY_RETENTION_CONTEXT.minute),
      hour: this.node.tryGetContext(TELEMETRY_RETENTION_CONTEXT.hour),
      day: this.node.tryGetContext(TELEMETRY_RETENTION_CONTEXT.day),
    });
    const retentionDays = retention.raw;
    const { storage } = props;

    this.deadLetterQueue = this.queue('DeadLetterQueue', 'the queue of records the handlers refused; nothing consumes it automatically');
    this.ruleErrorQueue = this.queue('RuleErrorQueue', 'the error action target of the IoT rules: it is itself the last stop');
    this.failureQueue = this.queue('FailureQueue', 'the on-failure destination of the ingest event source and the presence function');

    // Provisioned, not on-demand: at 10,000 devices x 1 msg / 10 s (~1,000 records/s, ~0.25 KB
    // each) 8 shards cost 8 x $0.015/h + $0.014 per million PUT units ≈ $0.05 per million
    // messages, while on-demand bills every record as at least 1 KB ingested ($0.08/GB) plus
    // $0.04/h: ≈ $0.10 per million (bench/prices.ts). 8 shards keep ~125 records/s per shard, so
    // a 60 s window holds ~6 messages per device (the coalescing factor) and stays under
    // Lambda's 6 MB batch limit. Rescale with -c ingestShardCount for another fleet size.
    // The stream keeps a record for the mapping's maximum record age (retries) plus the replay
    // window (`iotctl ingest replay` reads it back by sequence number), at least Kinesis' 24 h.
    // Every hour past 24 is extended retention, billed per shard-hour (docs/runbook.md).
    const replayWindowHours = integerContextFlag(this, INGEST_REPLAY_WINDOW_CONTEXT, INGEST_REPLAY_WINDOW_SECONDS / 3600, { min: 1, max: 8_000 })!;
    const retentionHours = Math.max(24, Math.ceil(INGEST_STREAM_MAPPING.maxRecordAgeSeconds / 3600) + replayWindowHours);
    if (retentionHours > 8_760) throw new Error(`${INGEST_REPLAY_WINDOW_CONTEXT}=${replayWindowHours} makes the stream's retention ${retentionHours} h, beyond Kinesis' 8,760 h`);
    this.streamRetention = Duration.hours(retentionHours);
    this.stream = new Stream(this, 'Stream', {
      streamMode: StreamMode.PROVISIONED,
      shardCount,
      encryption: StreamEncryption.MANAGED,
      retentionPeriod: this.streamRetention,
    });

    this.ingestFunction = new PlatformFunction(this, 'IngestFunction', {
      entry: props.ingestEntry ?? LAMBDA_FUNCTIONS.ingest.entry,
      serviceName: LAMBDA_FUNCTIONS.ingest.serviceName,
      description: 'Kinesis telemetry batches → coalesced device state + telemetry store; bad records → DLQ',
      memorySize: 512,
      timeout: Duration.minutes(2),
      reservedConcurrentExecutions:
        props.reservedConcurrency ??
        integerContextFlag(this, 'ingestReservedConcurrency', shardCount * INGEST_STREAM_MAPPING.parallelizationFactor, { min: 1, max: 10_000 }),
      environment: {
        [VARIABLES.telemetryStore]: props.telemetryStore,
        [TELEMETRY_RETENTION_VARIABLES.raw]: String(retention.raw),
        [TELEMETRY_RETENTION_VARIABLES.minute]: String(retention.minute),
        [TELEMETRY_RETENTION_VARIABLES.hour]: String(retention.hour),
        [TELEMETRY_RETENTION_VARIABLES.day]: String(retention.day),
        [VARIABLES.deadLetterQueueUrl]: this.deadLetterQueue.queueUrl,
      },
    });
    this.grantDeviceStateWrites(storage, this.ingestFunction);
    this.grantAlarmEvaluation(storage, this.ingestFunction);
    this.deadLetterQueue.grantSendMessages(this.ingestFunction);

    if (props.telemetryStore === 'dynamodb') {
      const table = storage.telemetryTable;
      if (!table) throw new Error('IngestPipeline: telemetryStore is dynamodb but the Storage construct has no telemetry table');
      this.telemetryTable = table;
      // Table only (no index ARNs: the Telemetry table has none). BatchWriteItem for the chunk
      // items; Query (raw chunks) and GetItem/UpdateItem (a group's rollup state) to roll hours
      // up; PutItem/UpdateItem for the rollup items.
      this.ingestFunction.executionRole.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:Query'],
          resources: [table.tableArn],
        }),
      );
      this.ingestFunction.addEnvironment(TELEMETRY_TABLE.tableNameEnv, table.tableName);
    } else {
      this.timestream = this.timestreamStore(retentionDays);
      this.ingestFunction.addEnvironment(VARIABLES.timestreamDatabaseName, this.timestream.database.ref);
      this.ingestFunction.addEnvironment(VARIABLES.timestreamTableName, this.timestream.table.attrName);
      this.ingestFunction.executionRole.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['timestream:WriteRecords'], resources: [this.timestream.table.attrArn] }),
      );
      // The SDK discovers the cell's write endpoint first. DescribeEndpoints has no resource, so it
      // sits in a policy of its own: a wildcard added to the default policy later is still reported.
      const discovery = new Policy(this, 'TimestreamEndpointDiscovery', {
        statements: [new PolicyStatement({ actions: ['timestream:DescribeEndpoints'], resources: ['*'] })],
      });
      discovery.attachToRole(this.ingestFunction.executionRole);
      Validations.of(discovery).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'timestream:DescribeEndpoints supports no resource-level permissions and is required before WriteRecords; this policy holds nothing else.',
      });
    }

    this.ingestFunction.addEventSource(
      new KinesisEventSource(this.stream, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: settings.batchSize,
        maxBatchingWindow: Duration.seconds(settings.batchWindowSeconds),
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: INGEST_STREAM_MAPPING.retryAttempts,
        maxRecordAge: Duration.seconds(INGEST_STREAM_MAPPING.maxRecordAgeSeconds),
        parallelizationFactor: INGEST_STREAM_MAPPING.parallelizationFactor,
        onFailure: new SqsDlq(this.failureQueue),
      }),
    );

    this.presenceFunction = new PlatformFunction(this, 'PresenceFunction', {
      entry: props.presenceEntry ?? LAMBDA_FUNCTIONS.presence.entry,
      serviceName: LAMBDA_FUNCTIONS.presence.serviceName,
      description: 'IoT lifecycle events → conditional ONLINE/OFFLINE on the Devices table',
      environment: { [VARIABLES.deadLetterQueueUrl]: this.deadLetterQueue.queueUrl },
    });
    this.grantDeviceStateWrites(storage, this.presenceFunction);
    this.deadLetterQueue.grantSendMessages(this.presenceFunction);
    this.presenceFunction.configureAsyncInvoke({ retryAttempts: 2, onFailure: new SqsDestination(this.failureQueue) });

    // One role for both rules: put to the stream, invoke nothing else, and report errors.
    // Confused deputy: IoT may assume it only for rules of this account and region.
    const ruleRole = new Role(this, 'RuleRole', {
      assumedBy: new ServicePrincipal('iot.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        ArnLike: { 'aws:SourceArn': Stack.of(this).formatArn({ service: 'iot', resource: 'rule', resourceName: '*' }) },
      }),
      description: 'IoT rules of the ingest pipeline: Kinesis PutRecord and the SQS error action',
    });
    this.stream.grantWrite(ruleRole);
    this.ruleErrorQueue.grantSendMessages(ruleRole);

    this.telemetryRule = this.rule(TELEMETRY_RULE, ruleRole, {
      kinesis: { streamName: this.stream.streamName, partitionKey: kinesisPartitionKey(TELEMETRY_RULE), roleArn: ruleRole.roleArn },
    });
    this.presenceRule = this.rule(PRESENCE_RULE, ruleRole, { lambda: { functionArn: this.presenceFunction.functionArn } });
    this.presenceFunction.addPermission('InvokeFromPresenceRule', {
      principal: new ServicePrincipal('iot.amazonaws.com'),
      sourceArn: this.presenceRule.attrArn,
      sourceAccount: Stack.of(this).account,
    });

    // At stack scope, so the output names are stable (an output inside the construct gets a
    // hashed logical id such as IngestPipelineDeadLetterQueueUrl4B335252) and scripts can rely on them.
    const stack = Stack.of(this);
    new CfnOutput(stack, 'TelemetryTopicPrefix', {
      value: `$aws/rules/${TELEMETRY_RULE.ruleName}/`,
      description: 'Devices publish telemetry to this prefix + dt/iot/<thing>/telemetry (Basic Ingest)',
    });
    new CfnOutput(stack, 'IngestStreamName', { value: this.stream.streamName, description: 'Kinesis stream of device telemetry' });
    new CfnOutput(stack, 'IngestDeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl, description: 'Refused device records, with reasons' });
    new CfnOutput(stack, 'IngestRuleErrorQueueUrl', { value: this.ruleErrorQueue.queueUrl, description: 'IoT rule action failures' });
    new CfnOutput(stack, 'IngestFailureQueueUrl', { value: this.failureQueue.queueUrl, description: 'Ingest batches and presence invocations given up on after retries' });
  }

  /**
   * Lets a reader of telemetry (the GraphQL resolver) query the store this pipeline writes, and
   * tells it which one: TELEMETRY_STORE plus TELEMETRY_TABLE_NAME (Query on the table) or
   * TIMESTREAM_DATABASE_NAME / TIMESTREAM_TABLE_NAME (Select on the table, DescribeEndpoints).
   * Runtime side: DynamoDbTelemetryStore or TimestreamTelemetryReader.
   */
  public grantTelemetryRead(consumer: TelemetryReadConsumer): void {
    consumer.addEnvironment(VARIABLES.telemetryStore, this.timestream ? 'timestream' : 'dynamodb');
    if (!this.timestream) {
      // Query for readings and rollup items, GetItem for a device group's rollup state.
      consumer.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:Query', 'dynamodb:GetItem'], resources: [this.telemetryTable!.tableArn] }));
      consumer.addEnvironment(TELEMETRY_TABLE.tableNameEnv, this.telemetryTable!.tableName);
      return;
    }
    consumer.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['timestream:Select'], resources: [this.timestream.table.attrArn] }));
    const discovery = new Policy(consumer.scope, 'TimestreamQueryEndpointDiscovery', {
      statements: [new PolicyStatement({ actions: ['timestream:DescribeEndpoints'], resources: ['*'] })],
    });
    discovery.attachToRole(consumer.role);
    Validations.of(discovery).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'timestream:DescribeEndpoints supports no resource-level permissions and is required before Query; this policy holds nothing else.',
    });
    consumer.addEnvironment(VARIABLES.timestreamDatabaseName, this.timestream.database.ref);
    consumer.addEnvironment(VARIABLES.timestreamTableName, this.timestream.table.attrName);
  }

  /**
   * Alarm evaluation in the batches: Query of a device's alarms and GetItem on the Alarms table
   * itself (no index), PutItem for transitions and pending-run markers, DeleteItem for markers of
   * runs that broke; rules are read by the same Query on the table.
   */
  private grantAlarmEvaluation(storage: Storage, fn: PlatformFunction): void {
    const table = storage.table(ALARMS_TABLE);
    fn.executionRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], resources: [table.tableArn] }));
    fn.addEnvironment(ALARMS_TABLE.tableNameEnv, table.tableName);
  }

  /** UpdateItem/GetItem on the Devices table itself (not its indexes): the writer never puts, deletes, queries or scans. */
  private grantDeviceStateWrites(storage: Storage, fn: PlatformFunction): void {
    fn.executionRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem'], resources: [storage.devicesTable.tableArn] }),
    );
    fn.addEnvironment(DEVICES_TABLE.tableNameEnv, storage.devicesTable.tableName);
  }

  private queue(id: string, why: string): Queue {
    const queue = new Queue(this, id, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Refused device data is evidence: keep it for a replay even if the stack goes away.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: `This is ${why}; a dead-letter queue of it would only move the same messages again.`,
    });
    return queue;
  }

  private rule(definition: TopicRuleDefinition, role: Role, action: CfnTopicRule.ActionProperty): CfnTopicRule {
    const rule = new CfnTopicRule(this, definition.id, {
      ruleName: definition.ruleName,
      topicRulePayload: {
        sql: definition.sql,
        awsIotSqlVersion: definition.sqlVersion,
        description: definition.description,
        ruleDisabled: false,
        actions: [action],
        errorAction: { sqs: { queueUrl: this.ruleErrorQueue.queueUrl, roleArn: role.roleArn, useBase64: false } },
      },
    });
    // The role's policy must exist before IoT validates the rule's actions.
    rule.node.addDependency(role);
    return rule;
  }

  private timestreamStore(retentionDays: number): { database: CfnDatabase; table: CfnTable } {
    const database = new CfnDatabase(this, 'TimestreamDatabase');
    Validations.of(database).acknowledge({
      id: 'AwsSolutions-TS3',
      reason: 'Encrypted at rest with the AWS managed key aws/timestream; no customer-key requirement applies to telemetry, and a CMK would add a key policy and KMS cost on every write.',
    });
    const table = new CfnTable(this, 'TimestreamTable', {
      databaseName: database.ref,
      retentionProperties: {
        // One day in the fast memory store; late readings (devices buffer up to 7 days, see
        // DEFAULT_TELEMETRY_LIMITS.maxPastMs) go to the magnetic store through magnetic writes.
        MemoryStoreRetentionPeriodInHours: '24',
        MagneticStoreRetentionPeriodInDays: String(retentionDays),
      },
      magneticStoreWriteProperties: { EnableMagneticStoreWrites: true },
    });
    database.applyRemovalPolicy(RemovalPolicy.RETAIN);
    table.applyRemovalPolicy(RemovalPolicy.RETAIN);
    for (const resource of [database, table]) {
      Validations.of(resource).acknowledge({
        id: 'CloudFormation-Validate::W3697',
        reason: 'Timestream LiveAnalytics is closed to new customers since 2025-06-20: only an account that already has it selects -c telemetryStore=timestream; the default store is DynamoDB.',
      });
    }
    return { database, table };
  }
}

/** The Kinesis partition key template of a rule definition. */
function kinesisPartitionKey(definition: TopicRuleDefinition): string {
  if (definition.target.kind !== 'kinesis') throw new Error(`${definition.ruleName} does not target Kinesis`);
  return definition.target.partitionKey;
}

/** Default settings, re-exported for stack tests and docs. */
export const INGEST_DEFAULTS = { ...DEFAULT_INGEST_SETTINGS, shardCount: DEFAULT_INGEST_SHARD_COUNT } as const;
