import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { RotationSweep } from '../../lib/rotation-sweep.js';
import { Storage } from '../../lib/storage.js';
import { buildPlatformStack, FIXTURE_HANDLER, testStack } from './stack-helper.js';

function build(context: Record<string, unknown> = {}) {
  const stack = testStack(context);
  const storage = new Storage(stack, 'Storage', { telemetryTable: false });
  const sweep = new RotationSweep(stack, 'RotationSweep', { storage, entry: FIXTURE_HANDLER });
  return { stack, storage, sweep, template: Template.fromStack(stack) };
}

const iotArn = (resource: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iot:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${resource}`]] });

describe('RotationSweep', () => {
  it('runs every 5 minutes by default and as often as -c rotationSweepMinutes says, ending before the next run', () => {
    // Prepare / Act
    const byDefault = build();
    const often = build({ rotationSweepMinutes: '1' });

    // Assess
    byDefault.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: byDefault.stack.resolve(byDefault.sweep.fn.functionArn), RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    byDefault.template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 290, Environment: { Variables: Match.objectLike({ DEVICES_TABLE_NAME: byDefault.stack.resolve(byDefault.storage.devicesTable.tableName) }) } });
    byDefault.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: byDefault.stack.resolve(byDefault.sweep.fn.functionName), MaximumRetryAttempts: 0 });
    often.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    often.template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 50 });
    expect(() => build({ rotationSweepMinutes: '90' })).toThrow(/rotationSweepMinutes/);
  });

  it('reads due rotations from a sparse byGraceEnd index of the Devices table', () => {
    // Prepare / Act
    const { stack, storage, template } = build();

    // Assess
    const devices = template.findResources('AWS::DynamoDB::Table')[stack.getLogicalId(storage.devicesTable.node.defaultChild as never)]!;
    expect(devices.Properties.GlobalSecondaryIndexes).toContainEqual({
      IndexName: 'byGraceEnd',
      KeySchema: [
        { AttributeName: 'rotationDue', KeyType: 'HASH' },
        { AttributeName: 'graceEndsAt', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    });
  });

  it("may query only that index, read and update Devices items, and make a finish's IoT calls on this account's certificates and things", () => {
    // Prepare
    const { stack, storage, sweep, template } = build();
    const table = stack.resolve(storage.devicesTable.tableArn);

    // Act
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(JSON.stringify(stack.resolve(sweep.fn.executionRole.roleName))))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown }>);

    // Assess
    expect(statements.map((s) => ({ Action: s.Action, Resource: s.Resource }))).toEqual([
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [stack.getLogicalId(sweep.fn.logGroup.node.defaultChild as never), 'Arn'] } },
      { Action: 'dynamodb:Query', Resource: { 'Fn::Join': ['', [table, '/index/byGraceEnd']] } },
      { Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: table },
      { Action: ['iot:DescribeCertificate', 'iot:UpdateCertificate', 'iot:ListAttachedPolicies', 'iot:DetachPolicy', 'iot:DetachThingPrincipal'], Resource: iotArn('cert/*') },
      { Action: 'iot:DetachThingPrincipal', Resource: iotArn('thing/*') },
    ]);
    expect(JSON.stringify(statements)).not.toMatch(/dynamodb:Scan|iot:\*|"\*"/);
  });

  it('leaves no cdk-nag finding unacknowledged on its resources', () => {
    // Prepare
    const { stack } = build();

    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    const mine = report.violations.flatMap((v) => v.violatingResources.filter((r) => r.constructPath?.includes('/RotationSweep/')).map((r) => `${v.ruleName} ${r.constructPath}`));
    expect(mine).toEqual([]);
  });

  it('gets the errors and throttles alarms in the platform stack, its errors pointing at its own runbook entry', () => {
    // Prepare / Act
    const { template } = buildPlatformStack();

    // Assess
    const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm'));
    const errors = alarms.find(([id]) => id.includes('RotationSweepFunctionErrors'));
    const throttles = alarms.find(([id]) => id.includes('RotationSweepFunctionThrottles'));
    expect(errors?.[1].Properties).toMatchObject({ MetricName: 'Errors', Threshold: 0, AlarmDescription: expect.stringMatching(/runbook\.md#rotationsweepfunctionerrors$/) });
    expect(throttles?.[1].Properties).toMatchObject({ MetricName: 'Throttles', Threshold: 0, AlarmDescription: expect.stringMatching(/#functionthrottles$/) });
  });
});
