import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DevicePolicy } from '../../lib/device-policy.js';
import { TELEMETRY_RULE_NAME } from '../../src/contracts/rules.js';
import { testStack } from './stack-helper.js';

describe('DevicePolicy', () => {
  it('deploys the device policy document with literal thing-name policy variables', () => {
    // Prepare
    const stack = testStack();

    // Act
    new DevicePolicy(stack, 'DevicePolicy');
    const template = Template.fromStack(stack);

    // Assess
    const policies = template.findResources('AWS::IoT::Policy');
    expect(Object.keys(policies)).toHaveLength(1);
    const document = JSON.stringify(Object.values(policies)[0]!.Properties.PolicyDocument);
    expect(document).not.toContain('Fn::Sub');
    expect(document).toContain(':client/${iot:Connection.Thing.ThingName}');
    expect(document).toContain(`:topic/$aws/rules/${TELEMETRY_RULE_NAME}/dt/iot/\${iot:Connection.Thing.ThingName}/telemetry`);
    expect(document).toContain(':topicfilter/cmd/iot/${iot:Connection.Thing.ThingName}/commands');
    expect(document).toContain('{"Ref":"AWS::AccountId"}');
  });

  it('exposes the generated policy name for AttachPolicy', () => {
    // Prepare
    const stack = testStack();

    // Act
    const policy = new DevicePolicy(stack, 'DevicePolicy', { telemetryRuleName: 'custom_rule' });

    // Assess
    expect(stack.resolve(policy.policyName)).toEqual({ Ref: stack.resolve(policy.policy.logicalId) });
    expect(JSON.stringify(Template.fromStack(stack).toJSON())).toContain('$aws/rules/custom_rule/');
  });
});
