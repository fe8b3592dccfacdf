import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ChangeFeed } from '../../lib/change-feed.js';
import { DeviceControl } from '../../lib/device-control.js';
import { IngestPipeline } from '../../lib/ingest-pipeline.js';
import { Storage } from '../../lib/storage.js';
import { COMMAND_RESPONSE_RULE, STATE_RULE, SUBSCRIBED_RULE } from '../../src/contracts/rules.js';
import { COMMANDS_TABLE } from '../../src/contracts/tables.js';
import { FIXTURE_HANDLER, testStack } from './stack-helper.js';

function build() {
  const stack = testStack();
  const storage = new Storage(stack, 'Storage', {});
  const feed = new ChangeFeed(stack, 'ChangeFeed', { storage, entry: FIXTURE_HANDLER });
  const ingest = new IngestPipeline(stack, 'IngestPipeline', { storage, telemetryStore: 'dynamodb', ingestEntry: FIXTURE_HANDLER, presenceEntry: FIXTURE_HANDLER });
  const control = new DeviceControl(stack, 'DeviceControl', {
    storage,
    deadLetterQueue: ingest.deadLetterQueue,
    ruleErrorQueue: ingest.ruleErrorQueue,
    failureQueue: ingest.failureQueue,
    entry: FIXTURE_HANDLER,
    timeoutsEntry: FIXTURE_HANDLER,
  });
  return { stack, storage, feed, control, template: Template.fromStack(stack) };
}

const policyStatementsOf = (template: Template, roleLogicalId: string) =>
  Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleLogicalId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[]);

describe('DeviceControl', () => {
  it('routes command answers, reported state and subscription events through their rules to the device control function, with an SQS error action', () => {
    // Prepare / Act
    const { stack, control, template } = build();
    const fnArn = stack.resolve(control.fn.functionArn);

    // Assess
    for (const definition of [COMMAND_RESPONSE_RULE, STATE_RULE, SUBSCRIBED_RULE]) {
      template.hasResourceProperties('AWS::IoT::TopicRule', {
        RuleName: definition.ruleName,
        TopicRulePayload: Match.objectLike({
          Sql: definition.sql,
          AwsIotSqlVersion: definition.sqlVersion,
          Actions: [{ Lambda: { FunctionArn: fnArn } }],
          ErrorAction: { Sqs: Match.objectLike({ UseBase64: false }) },
        }),
      });
    }
    expect(Object.values(template.findResources('AWS::Lambda::Permission')).filter((p) => p.Properties.Principal === 'iot.amazonaws.com' && JSON.stringify(p.Properties.FunctionName).includes(stack.getLogicalId(control.fn.node.defaultChild as never)))).toHaveLength(3);
  });

  it('runs the command sweep every minute: Commands read and written, device presence only read, only command topics published to', () => {
    // Prepare / Act
    const { stack, storage, control, template } = build();
    const statements = policyStatementsOf(template, stack.getLogicalId(control.timeoutsFunction.executionRole.node.defaultChild as never));

    // Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: stack.resolve(control.timeoutsFunction.functionArn) })],
    });
    const devicesTable = stack.getLogicalId(storage.devicesTable.node.defaultChild as never);
    expect(JSON.stringify(statements.map((s) => s.Resource))).toContain(stack.getLogicalId(storage.table(COMMANDS_TABLE).node.defaultChild as never));
    const onDevices = statements.filter((s) => JSON.stringify(s.Resource).includes(devicesTable));
    expect(onDevices.map((s) => s.Action)).toEqual(['dynamodb:GetItem']);
    const iot = statements.filter((s) => JSON.stringify(s.Action).includes('iot:'));
    expect(iot.map((s) => s.Action)).toEqual(['iot:Publish']);
    expect(JSON.stringify(iot[0]!.Resource)).toMatch(/topic\/cmd\/iot\/\*\/commands/);
    expect(JSON.stringify(iot[0]!.Resource)).not.toMatch(/delta/);
  });

  it('lets the device control function publish only to device command and delta topics and write only what it owns', () => {
    // Prepare / Act
    const { stack, control, template } = build();
    const statements = policyStatementsOf(template, stack.getLogicalId(control.fn.executionRole.node.defaultChild as never));

    // Assess
    const publish = statements.filter((s) => s.Action === 'iot:Publish');
    expect(publish).toHaveLength(1);
    expect(JSON.stringify(publish[0]!.Resource)).toMatch(/topic\/cmd\/iot\/\*\/commands.*topic\/cmd\/iot\/\*\/delta/);
    const devices = statements.find((s) => JSON.stringify(s.Action) === JSON.stringify(['dynamodb:GetItem', 'dynamodb:UpdateItem']));
    expect(devices).toBeDefined();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ COMMANDS_TABLE_NAME: Match.anyValue(), TWINS_TABLE_NAME: Match.anyValue(), DEVICES_TABLE_NAME: Match.anyValue(), DEAD_LETTER_QUEUE_URL: Match.anyValue() }) },
    });
  });

  it('feeds the Commands stream to the events function next to the Devices stream', () => {
    // Prepare / Act
    const { stack, storage, feed, template } = build();

    // Assess
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).filter((m) =>
      JSON.stringify(m.Properties.FunctionName).includes(stack.getLogicalId(feed.fn.node.defaultChild as never)),
    );
    const sources = JSON.stringify(mappings.map((m) => m.Properties.EventSourceArn));
    expect(mappings).toHaveLength(2);
    expect(sources).toContain(stack.getLogicalId(storage.table(COMMANDS_TABLE).node.defaultChild as never));
    expect(sources).toContain(stack.getLogicalId(storage.devicesTable.node.defaultChild as never));
  });

  it('has no unacknowledged cdk-nag AwsSolutions finding', () => {
    // Prepare
    const { stack } = build();

    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });
});
