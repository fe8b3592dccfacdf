import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { EventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Alias } from 'aws-cdk-lib/aws-kms';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { GraphqlApi } from 'aws-cdk-lib/aws-appsync';
import { Construct } from 'constructs';
import { ALARM_INSTANCE_KEY_PREFIX, ALARM_INSTANCE_SORT_PREFIX, ALARM_STREAM_BATCH_SIZE, ALARM_STREAM_MAPPING, ALARM_SWEEP_INTERVAL_SECONDS } from '../src/contracts/alarms.js';
import { VARIABLES } from '../src/contracts/environment/variables.js';
import { LAMBDA_FUNCTIONS } from '../src/contracts/lambda-functions.js';
import { ALARMS_TABLE, COMMANDS_TABLE, DEVICES_TABLE } from '../src/contracts/tables.js';
import { alarmTopic, commandTopic } from '../src/contracts/topics.js';
import { PlatformFunction } from './platform-function.js';
import type { Storage } from './storage.js';
import { addTableStreamSource } from './table-stream-source.js';

/** Props of {@link Alarms}. */
export interface AlarmsProps {
  /** The tables: the Alarms stream feeds the events function; the sweep reads Devices. */
  readonly storage: Storage;
  /** When given, transitions reach alarmUpdated subscribers through its IAM-only publishAlarmUpdate mutation. */
  readonly graphqlApi?: GraphqlApi;
  /** When true, transitions are republished on the internal IoT alarm topics the gRPC service relays to WatchAlarms. */
  readonly alarmTopics?: boolean;
  /**
   * Handler sources, relative to the repository root.
   * @default 'lambdas/alarm-events/index.ts' and 'lambdas/alarm-sweep/index.ts'
   */
  readonly eventsEntry?: string;
  readonly sweepEntry?: string;
}

/**
 * Alarm notifications and scheduled evaluation (the rules themselves are evaluated by the
 * ingest function): the Alarms table's stream → the alarm-events function, which records each
 * transition's history and publishes it to EventBridge (default bus, source and detail-type in
 * src/contracts/alarms.ts) and to the AlarmNotifications SNS topic; an EventBridge schedule runs
 * the alarm-sweep function for no-data rules and ended snoozes. Holds no runtime logic.
 */
export class Alarms extends Construct {
  /** Every alarm transition of a notifying rule (output AlarmNotificationsTopicArn). */
  public readonly topic: Topic;
  public readonly eventsFunction: PlatformFunction;
  public readonly sweepFunction: PlatformFunction;
  /** Where the stream mapping sends the metadata of batches it gave up on. */
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { storage } = props;
    const alarmsTable = storage.table(ALARMS_TABLE);

    // Published by a Lambda (never by a service principal), so the AWS managed SNS key will do.
    this.topic = new Topic(this, 'AlarmNotificationsTopic', {
      masterKey: Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
      enforceSSL: true,
      displayName: 'IoT platform alarm notifications',
    });
    new CfnOutput(stack, 'AlarmNotificationsTopicArn', {
      value: this.topic.topicArn,
      description: 'Every alarm transition (rules with notify); filter subscriptions on the severity, state, deviceId and ruleId attributes',
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the alarm-events stream mapping; a DLQ of a DLQ would only move the same records again.',
    });

    this.eventsFunction = new PlatformFunction(this, 'EventsFunction', {
      entry: props.eventsEntry ?? LAMBDA_FUNCTIONS.alarmEvents.entry,
      serviceName: LAMBDA_FUNCTIONS.alarmEvents.serviceName,
      description: 'Alarms stream → transition history, EventBridge, SNS, alarmUpdated and WatchAlarms',
    });
    const events = this.eventsFunction;
    // History items are the function's only writes to the Alarms table; it reads rule versions (command actions).
    events.executionRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:PutItem', 'dynamodb:GetItem'], resources: [alarmsTable.tableArn] }));
    events.addEnvironment(ALARMS_TABLE.tableNameEnv, alarmsTable.tableName);
    // Rules' command actions go through the command use case: create, read and claim a command
    // (no index: the function never lists or drains queues), read the device's presence, and
    // publish on the device command topic only (not twin deltas).
    const commandsTable = storage.table(COMMANDS_TABLE);
    events.executionRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [commandsTable.tableArn] }),
    );
    events.addEnvironment(COMMANDS_TABLE.tableNameEnv, commandsTable.tableName);
    events.executionRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [storage.devicesTable.tableArn] }));
    events.addEnvironment(DEVICES_TABLE.tableNameEnv, storage.devicesTable.tableName);
    const commandTopicPattern = commandTopic('*');
    events.executionRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['iot:Publish'],
        resources: [stack.formatArn({ service: 'iot', resource: 'topic', resourceName: commandTopicPattern })],
      }),
    );
    Validations.of(events.executionRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:topic/${commandTopicPattern}]`,
      reason: "An alarm rule's command goes to the alarm's device, whichever it is, so the thing name in the topic is a wildcard; the grant is iot:Publish on the device command topic only.",
    });
    const defaultBus = EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    defaultBus.grantPutEventsTo(events);
    events.addEnvironment(VARIABLES.alarmEventBusName, defaultBus.eventBusName);
    this.topic.grantPublish(events);
    events.addEnvironment(VARIABLES.alarmTopicArn, this.topic.topicArn);
    if (props.graphqlApi) {
      props.graphqlApi.grantMutation(events, 'publishAlarmUpdate');
      events.addEnvironment(VARIABLES.appSyncGraphqlUrl, props.graphqlApi.graphqlUrl);
    }
    if (props.alarmTopics) {
      const pattern = alarmTopic('*');
      const iotTopic = Stack.of(this).formatArn({ service: 'iot', resource: `topic/${pattern}`, arnFormat: ArnFormat.NO_RESOURCE_NAME });
      const publish = new Policy(this, 'AlarmTopicPublishPolicy', { statements: [new PolicyStatement({ actions: ['iot:Publish'], resources: [iotTopic] })] });
      publish.attachToRole(events.executionRole);
      events.addEnvironment(VARIABLES.alarmTopicEnabled, 'true');
      Validations.of(publish).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:topic/${pattern}]`,
        reason: 'The alarm-events Lambda publishes each transition to its own device topic under internal/alarm-changes/; the wildcard is the device id only.',
      });
    }
    addTableStreamSource(events, alarmsTable, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: ALARM_STREAM_BATCH_SIZE,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      retryAttempts: ALARM_STREAM_MAPPING.retryAttempts,
      maxRecordAge: Duration.seconds(ALARM_STREAM_MAPPING.maxRecordAgeSeconds),
      parallelizationFactor: ALARM_STREAM_MAPPING.parallelizationFactor,
      onFailure: new SqsDlq(this.deadLetterQueue),
      // Only instance writes are transitions: rule, version, history and pending-run writes never invoke the function.
      filters: [
        FilterCriteria.filter({
          dynamodb: { Keys: { pk: { S: FilterRule.beginsWith(ALARM_INSTANCE_KEY_PREFIX) }, sk: { S: FilterRule.beginsWith(ALARM_INSTANCE_SORT_PREFIX) } } },
        }),
      ],
    });

    this.sweepFunction = new PlatformFunction(this, 'SweepFunction', {
      entry: props.sweepEntry ?? LAMBDA_FUNCTIONS.alarmSweep.entry,
      serviceName: LAMBDA_FUNCTIONS.alarmSweep.serviceName,
      description: 'No-data alarm rules and ended snoozes, on a schedule',
      timeout: Duration.seconds(ALARM_SWEEP_INTERVAL_SECONDS),
    });
    const sweep = this.sweepFunction;
    const devicesTable = storage.devicesTable;
    const indexArn = (tableArn: string, index: string) => `${tableArn}/index/${index}`;
    sweep.executionRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [alarmsTable.tableArn, indexArn(alarmsTable.tableArn, 'byRule'), indexArn(alarmsTable.tableArn, 'bySnoozeEnd')],
      }),
    );
    sweep.executionRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], resources: [alarmsTable.tableArn] }));
    sweep.executionRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [indexArn(devicesTable.tableArn, 'byCreated'), indexArn(devicesTable.tableArn, 'byType')],
      }),
    );
    // Only the due devices' silence is read, in batches (a single-device rule too).
    sweep.executionRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:BatchGetItem'], resources: [devicesTable.tableArn] }));
    sweep.addEnvironment(ALARMS_TABLE.tableNameEnv, alarmsTable.tableName);
    sweep.addEnvironment(DEVICES_TABLE.tableNameEnv, devicesTable.tableName);
    new Rule(this, 'SweepSchedule', {
      description: 'Runs the alarm sweep (no-data rules, ended snoozes)',
      schedule: Schedule.rate(Duration.seconds(ALARM_SWEEP_INTERVAL_SECONDS)),
      targets: [new LambdaFunction(sweep, { retryAttempts: 0 })],
    });
  }
}
