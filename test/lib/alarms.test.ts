import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { Alarms } from '../../lib/alarms.js';
import { Storage } from '../../lib/storage.js';
import { ALARMS_TABLE, COMMANDS_TABLE } from '../../src/contracts/tables.js';
import { buildPlatformStack, FIXTURE_HANDLER, testStack } from './stack-helper.js';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

/** Every Allow statement of the policies attached to `roleLogicalId`. */
function statementsOf(template: Template, roleLogicalId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: roleLogicalId }]) } });
  return Object.values(policies).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
}
/** Actions beyond the logs and tracing every PlatformFunction gets. */
const actions = (statements: Statement[]) =>
  statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:'));

function build(props: Partial<ConstructorParameters<typeof Alarms>[2]> = {}) {
  const stack = testStack();
  const storage = new Storage(stack, 'Storage');
  const alarms = new Alarms(stack, 'Alarms', { storage, eventsEntry: FIXTURE_HANDLER, sweepEntry: FIXTURE_HANDLER, ...props });
  return { stack, storage, alarms, template: Template.fromStack(stack) };
}

describe('Alarms', () => {
  it('feeds only alarm instance writes of the Alarms stream to the events function, with bisection, partial failures and a DLQ', () => {
    // Prepare / Act
    const { stack, storage, alarms, template } = build();

    // Assess
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: stack.resolve(storage.table(ALARMS_TABLE).tableStreamArn),
      FunctionName: stack.resolve(alarms.eventsFunction.functionName),
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ParallelizationFactor: 1,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ dynamodb: { Keys: { pk: { S: [{ prefix: 'DEV#' }] }, sk: { S: [{ prefix: 'ALARM#' }] } } } }) }] },
      DestinationConfig: { OnFailure: { Destination: stack.resolve(alarms.deadLetterQueue.queueArn) } },
    });
  });

  it('publishes to an encrypted, TLS-only SNS topic and the default event bus, named to the function by variables', () => {
    const { stack, alarms, template } = build();
    const topic = Object.values(template.findResources('AWS::SNS::Topic'))[0] as { Properties: { KmsMasterKeyId: unknown } };
    expect(JSON.stringify(topic.Properties.KmsMasterKeyId)).toContain('alias/aws/sns');
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasOutput('AlarmNotificationsTopicArn', { Value: stack.resolve(alarms.topic.topicArn) });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ALARM_TOPIC_ARN: stack.resolve(alarms.topic.topicArn), ALARM_EVENT_BUS_NAME: 'default', ALARMS_TABLE_NAME: Match.anyValue() }) },
    });
  });

  it('gives the events function PutItem and GetItem on the Alarms table, PutEvents on the default bus, Publish on its topic, and for command actions only what sending a command needs', () => {
    const { stack, storage, alarms, template } = build();
    const role = stack.getLogicalId(alarms.eventsFunction.executionRole.node.defaultChild as never);
    const statements = statementsOf(template, role);
    expect(actions(statements).sort()).toEqual(
      [
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'dynamodb:ListStreams',
        'dynamodb:PutItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'dynamodb:GetItem',
        'iot:Publish',
        'events:PutEvents',
        'sns:Publish',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
      ].sort(),
    );
    const on = (resource: unknown) => statements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(resource)).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(on(stack.resolve(storage.table(ALARMS_TABLE).tableArn)).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    // Commands: create, read and claim one; never the indexes (no listing, no queue drain) and never a delete.
    expect(on(stack.resolve(storage.table(COMMANDS_TABLE).tableArn)).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(on(stack.resolve(storage.devicesTable.tableArn))).toEqual(['dynamodb:GetItem']);
    expect(JSON.stringify(statements.filter((s) => JSON.stringify(s.Action).includes('dynamodb:')).map((s) => s.Resource))).not.toContain('index');
    // IoT: the device command topic only, not twin deltas or any other topic.
    const publish = statements.filter((s) => s.Action === 'iot:Publish');
    expect(publish).toHaveLength(1);
    expect(JSON.stringify(publish[0]!.Resource)).toMatch(/topic\/cmd\/iot\/\*\/commands"/);
    const events = statements.find((s) => s.Action === 'events:PutEvents')!;
    expect(JSON.stringify(events.Resource)).toContain('event-bus/default');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ALARM_TOPIC_ARN: Match.anyValue(), COMMANDS_TABLE_NAME: stack.resolve(storage.table(COMMANDS_TABLE).tableName), DEVICES_TABLE_NAME: stack.resolve(storage.devicesTable.tableName) }) },
    });
  });

  it('runs the sweep every minute with reads through indexes only (never Scan) and PutItem for transitions', () => {
    const { stack, alarms, template } = build();
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: stack.resolve(alarms.sweepFunction.functionArn), RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    const role = stack.getLogicalId(alarms.sweepFunction.executionRole.node.defaultChild as never);
    const statements = statementsOf(template, role);
    expect(actions(statements).sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Query'].sort());
    const queried = JSON.stringify(statements.filter((s) => s.Action === 'dynamodb:Query').map((s) => s.Resource));
    for (const index of ['byRule', 'bySnoozeEnd', 'byCreated', 'byType']) expect(queried).toContain(`/index/${index}`);
    expect(queried).not.toContain('/index/*');
  });

  it('grants alarmUpdated publishing and the IoT alarm topics only when asked', () => {
    const { template } = build();
    expect(JSON.stringify(template.toJSON())).not.toContain('publishAlarmUpdate');
    expect(JSON.stringify(template.toJSON())).not.toContain('alarm-changes');
  });
});

describe('the platform stack with alarms', () => {
  const { stack, template } = buildPlatformStack();
  const policyText = (fnPath: RegExp) =>
    JSON.stringify(
      Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
        JSON.stringify((p as { Properties: { Roles: unknown } }).Properties.Roles).match(fnPath),
      ),
    );

  it('lets the alarm-events function call publishAlarmUpdate and publish on internal/alarm-changes/* only', () => {
    const text = policyText(/AlarmsEventsFunction/);
    expect(text).toContain('/types/Mutation/fields/publishAlarmUpdate');
    expect(text).toContain('topic/internal/alarm-changes/*');
    expect(text).not.toContain('publishDeviceUpdate');
  });

  it('lets the ingest function Query, GetItem, PutItem and DeleteItem the Alarms table itself (pending-run markers), and sets ALARMS_TABLE_NAME', () => {
    const text = policyText(/IngestPipelineIngestFunction/);
    expect(text).toMatch(/"dynamodb:Query","dynamodb:GetItem","dynamodb:PutItem","dynamodb:DeleteItem"\],"Effect":"Allow","Resource":\{"Fn::GetAtt":\["StorageAlarms[0-9A-F]+","Arn"\]\}/);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Kinesis|ingest|telemetry'),
      Environment: { Variables: Match.objectLike({ ALARMS_TABLE_NAME: Match.anyValue() }) },
    });
  });

  it('lets the gRPC service subscribe to the alarm topics for WatchAlarms', () => {
    const text = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(text).toContain('topicfilter/internal/alarm-changes/#');
    expect(stack.node.tryFindChild('Alarms')).toBeDefined();
  });

  it('gives the alarm functions and the ingest function no dynamodb:Scan', () => {
    for (const role of [/AlarmsEventsFunction/, /AlarmsSweepFunction/, /IngestPipelineIngestFunction/]) expect(policyText(role)).not.toContain('dynamodb:Scan');
  });
});
