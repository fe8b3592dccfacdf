import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { PresenceReconciler } from '../../lib/presence-reconciler.js';
import { Storage } from '../../lib/storage.js';
import { FIXTURE_HANDLER, testStack } from './stack-helper.js';

function build(context: Record<string, unknown> = {}) {
  const stack = testStack(context);
  const storage = new Storage(stack, 'Storage', { telemetryTable: false });
  const reconciler = new PresenceReconciler(stack, 'PresenceReconciler', { storage, entry: FIXTURE_HANDLER });
  return { stack, storage, reconciler, template: Template.fromStack(stack) };
}

describe('PresenceReconciler', () => {
  it('runs every 5 minutes by default and as often as -c presenceReconcileMinutes says, ending before the next run', () => {
    // Prepare / Act
    const byDefault = build();
    const often = build({ presenceReconcileMinutes: '1' });

    // Assess
    byDefault.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: byDefault.stack.resolve(byDefault.reconciler.fn.functionArn), RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    byDefault.template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 290, Environment: { Variables: Match.objectLike({ DEVICES_TABLE_NAME: byDefault.stack.resolve(byDefault.storage.devicesTable.tableName) }) } });
    often.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    often.template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 50 });
    expect(() => build({ presenceReconcileMinutes: '90' })).toThrow(/presenceReconcileMinutes/);
  });

  it('may query only the status index, read and update Devices items, and read the connectivity of this account\'s things', () => {
    // Prepare
    const { stack, storage, reconciler, template } = build();
    const table = stack.resolve(storage.devicesTable.tableArn);

    // Act
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(JSON.stringify(stack.resolve(reconciler.fn.executionRole.roleName))))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown }>);

    // Assess
    expect(statements.map((s) => ({ Action: s.Action, Resource: s.Resource }))).toEqual([
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [stack.getLogicalId(reconciler.fn.logGroup.node.defaultChild as never), 'Arn'] } },
      { Action: 'dynamodb:Query', Resource: { 'Fn::Join': ['', [table, '/index/byStatus']] } },
      { Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: table },
      {
        Action: 'iot:GetThingConnectivityData',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iot:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':thing/*']] },
      },
    ]);
    expect(JSON.stringify(statements)).not.toContain('dynamodb:Scan');
  });

  it('leaves no cdk-nag finding unacknowledged on its resources', () => {
    // Prepare
    const { stack } = build();

    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    const mine = report.violations.flatMap((v) => v.violatingResources.filter((r) => r.constructPath?.includes('/PresenceReconciler/')).map((r) => `${v.ruleName} ${r.constructPath}`));
    expect(mine).toEqual([]);
  });
});
