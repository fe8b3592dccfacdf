import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnTopicRule } from 'aws-cdk-lib/aws-iot';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { VARIABLES } from '../src/contracts/environment/variables.js';
import { LAMBDA_FUNCTIONS } from '../src/contracts/lambda-functions.js';
import { COMMAND_RESPONSE_RULE, STATE_RULE, SUBSCRIBED_RULE, type TopicRuleDefinition } from '../src/contracts/rules.js';
import { COMMANDS_TABLE, DEVICES_TABLE, TWINS_TABLE } from '../src/contracts/tables.js';
import { commandTopic } from '../src/contracts/topics.js';
import { acknowledgeIndexQueries, grantDeviceMessaging } from './device-messaging.js';
import { PlatformFunction } from './platform-function.js';
import type { Storage } from './storage.js';

/** How often the timeout sweep runs: a timeout is recorded at most this late (answers check the deadline themselves). */
export const COMMAND_TIMEOUT_SWEEP = Duration.minutes(1);

/** Props of {@link DeviceControl}. */
export interface DeviceControlProps {
  readonly storage: Storage;
  /** Refused answers and reports go here with their reason (the ingest pipeline's). */
  readonly deadLetterQueue: Queue;
  /** The rules' error action. */
  readonly ruleErrorQueue: Queue;
  /** Invocations given up on after retries. */
  readonly failureQueue: Queue;
  /** @default 'lambdas/device-control/index.ts' */
  readonly entry?: string;
  /** @default 'lambdas/command-timeouts/index.ts' */
  readonly timeoutsEntry?: string;
}

/**
 * What devices send back about commands and state: the command response, state and subscription
 * rules → the device control Lambda (answers become transitions, reports twin patches, a
 * subscription releases queued commands and the current delta); and the timeout sweep, a
 * Lambda on a one-minute schedule over the Commands deadline index, which also re-drives waiting
 * commands whose device is ONLINE.
 */
export class DeviceControl extends Construct {
  public readonly fn: PlatformFunction;
  public readonly timeoutsFunction: PlatformFunction;
  public readonly rules: readonly CfnTopicRule[];

  constructor(scope: Construct, id: string, props: DeviceControlProps) {
    super(scope, id);
    const { storage } = props;
    this.fn = new PlatformFunction(this, 'DeviceControlFunction', {
      entry: props.entry ?? LAMBDA_FUNCTIONS.deviceControl.entry,
      serviceName: LAMBDA_FUNCTIONS.deviceControl.serviceName,
      description: 'Command answers, reported state and subscription events → commands and twins',
      environment: { [VARIABLES.deadLetterQueueUrl]: props.deadLetterQueue.queueUrl },
    });
    // Reads presence and raises twinVersion on the device item; never puts, deletes or queries it.
    this.fn.executionRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [storage.devicesTable.tableArn] }),
    );
    this.fn.addEnvironment(DEVICES_TABLE.tableNameEnv, storage.devicesTable.tableName);
    storage.grant(COMMANDS_TABLE, this.fn, 'readWrite');
    storage.grant(TWINS_TABLE, this.fn, 'readWrite');
    grantDeviceMessaging(this.fn);
    props.deadLetterQueue.grantSendMessages(this.fn);
    this.fn.configureAsyncInvoke({ retryAttempts: 2, onFailure: new SqsDestination(props.failureQueue) });
    acknowledgeIndexQueries(this.fn.executionRole, storage.table(COMMANDS_TABLE), 'A subscription drains the device queue through the byQueue index; the grant names this table only.');

    // Confused deputy: IoT may assume it only for rules of this account and region.
    const ruleRole = new Role(this, 'RuleRole', {
      assumedBy: new ServicePrincipal('iot.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        ArnLike: { 'aws:SourceArn': Stack.of(this).formatArn({ service: 'iot', resource: 'rule', resourceName: '*' }) },
      }),
      description: 'IoT rules of device control: the SQS error action only',
    });
    props.ruleErrorQueue.grantSendMessages(ruleRole);
    this.rules = [COMMAND_RESPONSE_RULE, STATE_RULE, SUBSCRIBED_RULE].map((definition) => this.rule(definition, ruleRole, props.ruleErrorQueue));

    this.timeoutsFunction = new PlatformFunction(this, 'CommandTimeoutsFunction', {
      entry: props.timeoutsEntry ?? LAMBDA_FUNCTIONS.commandTimeouts.entry,
      serviceName: LAMBDA_FUNCTIONS.commandTimeouts.serviceName,
      description: 'Times out commands past their deadline and re-drives missed deliveries (deadline index, every minute)',
      timeout: Duration.seconds(50),
    });
    storage.grant(COMMANDS_TABLE, this.timeoutsFunction, 'readWrite');
    // The re-drive reads the device's presence and publishes to its command topic, nothing else.
    this.timeoutsFunction.executionRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [storage.devicesTable.tableArn] }));
    this.timeoutsFunction.addEnvironment(DEVICES_TABLE.tableNameEnv, storage.devicesTable.tableName);
    grantDeviceMessaging(this.timeoutsFunction, [commandTopic('*')]);
    acknowledgeIndexQueries(this.timeoutsFunction.executionRole, storage.table(COMMANDS_TABLE), 'The sweep reads only due commands through the byDeadline index; the grant names this table only.');
    new Rule(this, 'CommandTimeoutsSchedule', {
      schedule: Schedule.rate(COMMAND_TIMEOUT_SWEEP),
      description: 'Runs the command timeout sweep',
      targets: [new LambdaFunction(this.timeoutsFunction, { retryAttempts: 0 })],
    });

    new CfnOutput(Stack.of(this), 'CommandsTableName', { value: storage.table(COMMANDS_TABLE).tableName, description: 'Commands to devices' });
    new CfnOutput(Stack.of(this), 'TwinsTableName', { value: storage.table(TWINS_TABLE).tableName, description: 'Desired and reported state of devices' });
  }

  private rule(definition: TopicRuleDefinition, role: Role, errorQueue: Queue): CfnTopicRule {
    const rule = new CfnTopicRule(this, definition.id, {
      ruleName: definition.ruleName,
      topicRulePayload: {
        sql: definition.sql,
        awsIotSqlVersion: definition.sqlVersion,
        description: definition.description,
        ruleDisabled: false,
        actions: [{ lambda: { functionArn: this.fn.functionArn } }],
        errorAction: { sqs: { queueUrl: errorQueue.queueUrl, roleArn: role.roleArn, useBase64: false } },
      },
    });
    rule.node.addDependency(role);
    this.fn.addPermission(`InvokeFrom${definition.id}`, {
      principal: new ServicePrincipal('iot.amazonaws.com'),
      sourceArn: rule.attrArn,
      sourceAccount: Stack.of(this).account,
    });
    return rule;
  }
}
