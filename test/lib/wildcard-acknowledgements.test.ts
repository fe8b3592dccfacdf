import { Match, type Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import type { PlatformStack } from '../../lib/platform-stack.js';
import { buildPlatformStack } from './stack-helper.js';

type Statement = { Action: string | string[]; Resource: unknown };

/** Every statement of the stack whose resource is a bare "*", with the policy that holds it. */
function starStatements(template: Template): Array<{ policy: string; action: string | string[] }> {
  return Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([policy, resource]) =>
    (resource.Properties.PolicyDocument.Statement as Statement[]).filter((s) => s.Resource === '*').map((s) => ({ policy, action: s.Action })),
  );
}

/** IAM5 findings of cdk-nag that name `*` as a resource, by construct path. */
function starFindings(stack: PlatformStack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations
    .filter((v) => v.ruleName === 'AwsSolutions-IAM5[Resource::*]' || (v.ruleName === 'AwsSolutions-IAM5' && JSON.stringify(v).includes('Resource::*')))
    .flatMap((v) => v.violatingResources.map((r) => r.constructPath ?? r.resourceLogicalId ?? ""));
}

describe('wildcard acknowledgements', () => {
  const { stack, template } = buildPlatformStack();

  it('lets AppSync write its request logs into this API\'s log group only', () => {
    // Assess
    const logGroup = Object.keys(template.findResources('AWS::Logs::LogGroup', { Properties: { LogGroupName: Match.objectLike({ 'Fn::Join': ['', ['/aws/appsync/apis/', Match.anyValue()]] }) } }));
    expect(logGroup).toHaveLength(1);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('ApiLogPolicy'),
      PolicyDocument: { Statement: [{ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [logGroup[0], 'Arn'] } }] },
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('log-group:/aws/appsync/apis/*');
  });

  it('keeps each Resource "*" in a policy that holds that one action', () => {
    // Assess
    const stars = starStatements(template);
    const byAction = Object.fromEntries(stars.map((s) => [JSON.stringify(s.action), s.policy]));
    expect(byAction['"dynamodb:ListStreams"']).toBeDefined();
    for (const { policy, action } of stars.filter((s) => s.action === 'dynamodb:ListStreams' || s.action === 'iot:DescribeEndpoint')) {
      expect(policy).toMatch(/ListStreamsPolicy|DescribeEndpointPolicy/);
      expect(template.toJSON().Resources[policy].Properties.PolicyDocument.Statement).toHaveLength(1);
      expect(action).toMatch(/^(dynamodb:ListStreams|iot:DescribeEndpoint)$/);
    }
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('ChangeFeedEventsFunctionListStreamsPolicy'),
      PolicyDocument: { Statement: [{ Action: 'dynamodb:ListStreams', Effect: 'Allow', Resource: '*' }] },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('DeviceServiceDescribeEndpointPolicy'),
      PolicyDocument: { Statement: [{ Action: 'iot:DescribeEndpoint', Effect: 'Allow', Resource: '*' }] },
    });
    // The events function still reads both streams, with the stream actions on the stream ARNs.
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('ChangeFeedEventsFunctionServiceRoleDefaultPolicy'),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], Resource: Match.objectLike({ 'Fn::GetAtt': Match.arrayWith(['StreamArn']) }) }),
        ]),
      },
    });
    expect(stars.filter((s) => /ChangeFeedEventsFunctionServiceRoleDefaultPolicy|DeviceServiceTaskDefinitionTaskRoleDefaultPolicy/.test(s.policy))).toEqual([]);
  });

  it('reports a Resource "*" added later to the events function or the gRPC task role', () => {
    // Prepare
    const fresh = buildPlatformStack().stack;
    const eventsRole = fresh.node.findAll().find((c) => c.node.path === 'IotPlatform/ChangeFeed/EventsFunctionServiceRole') as Role;
    const taskRole = fresh.node.findAll().find((c) => c.node.path === 'IotPlatform/DeviceService/TaskDefinition/TaskRole') as Role;
    eventsRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:DescribeLimits'], resources: ['*'] }));
    taskRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['iot:ListThings'], resources: ['*'] }));

    // Act
    const paths = starFindings(fresh);

    // Assess
    expect(paths).toEqual(
      expect.arrayContaining(['IotPlatform/ChangeFeed/EventsFunctionServiceRole/DefaultPolicy/Resource', 'IotPlatform/DeviceService/TaskDefinition/TaskRole/DefaultPolicy/Resource']),
    );
    expect(starFindings(stack)).toEqual([]);
  });
});
