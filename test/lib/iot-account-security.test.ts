import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { AUDIT_CHECKS, IotAccountSecurity } from '../../lib/iot-account-security.js';
import { testStack } from './stack-helper.js';

function build(context: Record<string, unknown> = {}) {
  const stack = testStack(context);
  new IotAccountSecurity(stack, 'IotAccountSecurity');
  return { stack, template: Template.fromStack(stack) };
}

const TRUST_IOT_OF_THIS_ACCOUNT = {
  AssumeRolePolicyDocument: {
    Statement: [
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'iot.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iot:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':*']] } },
        },
      },
    ],
  },
};

describe('IotAccountSecurity', () => {
  it('turns on AWS IoT logging at ERROR through a role that writes only AWSIotLogsV2', () => {
    // Prepare / Act
    const { template } = build();

    // Assess
    template.hasResourceProperties('AWS::IoT::Logging', { AccountId: { Ref: 'AWS::AccountId' }, DefaultLogLevel: 'ERROR', RoleArn: Match.objectLike({ 'Fn::GetAtt': Match.arrayWith([Match.stringLikeRegexp('LoggingRole')]) }) });
    template.hasResourceProperties('AWS::IAM::Role', { ...TRUST_IOT_OF_THIS_ACCOUNT, Description: Match.stringLikeRegexp('AWSIotLogsV2') });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('LoggingRole'),
      PolicyDocument: {
        Statement: [
          {
            Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
            Effect: 'Allow',
            Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:AWSIotLogsV2:*']] },
          },
        ],
      },
    });
  });

  it.each(['WARN', 'INFO', 'DEBUG', 'DISABLED'])('takes the log level from -c iotLogLevel=%s', (level) => {
    build({ iotLogLevel: level }).template.hasResourceProperties('AWS::IoT::Logging', { DefaultLogLevel: level });
  });

  it('refuses an unknown log level', () => {
    expect(() => build({ iotLogLevel: 'VERBOSE' })).toThrow(/iotLogLevel="VERBOSE".*-c iotLogLevel=ERROR/);
  });

  it('leaves the account log alone with -c iotLogging=off', () => {
    const { template } = build({ iotLogging: 'off' });
    template.resourceCountIs('AWS::IoT::Logging', 0);
    expect(Object.keys(template.findResources('AWS::IAM::Role')).filter((id) => id.includes('LoggingRole'))).toEqual([]);
    template.resourceCountIs('AWS::IoT::ScheduledAudit', 1);
  });

  it('enables the fleet checks in the account and audits them daily, after the configuration', () => {
    // Prepare / Act
    const { template } = build();

    // Assess
    const configuration = template.findResources('AWS::IoT::AccountAuditConfiguration');
    expect(Object.keys(configuration)).toHaveLength(1);
    template.hasResourceProperties('AWS::IoT::AccountAuditConfiguration', {
      AccountId: { Ref: 'AWS::AccountId' },
      RoleArn: Match.objectLike({ 'Fn::GetAtt': Match.arrayWith([Match.stringLikeRegexp('AuditRole')]) }),
      AuditCheckConfigurations: {
        DeviceCertificateExpiringCheck: { Enabled: true },
        DeviceCertificateSharedCheck: { Enabled: true },
        DeviceCertificateKeyQualityCheck: { Enabled: true },
        RevokedDeviceCertificateStillActiveCheck: { Enabled: true },
        IotPolicyOverlyPermissiveCheck: { Enabled: true },
        LoggingDisabledCheck: { Enabled: true },
      },
    });
    template.hasResource('AWS::IoT::ScheduledAudit', {
      Properties: { Frequency: 'DAILY', TargetCheckNames: [...AUDIT_CHECKS] },
      DependsOn: Object.keys(configuration),
    });
  });

  it('gives the audit a read-only role that IoT of this account alone may assume', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::IAM::Role', { ...TRUST_IOT_OF_THIS_ACCOUNT, Description: Match.stringLikeRegexp('Device Defender') });
    const policy = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('AuditRole') } }));
    expect(policy).toHaveLength(1);
    const actions = (policy[0].Properties.PolicyDocument.Statement as { Action: string[] }[]).flatMap((s) => s.Action);
    expect(actions.every((a) => /^iot:(List|Describe|Get)/.test(a))).toBe(true);
    expect(actions).toEqual(expect.arrayContaining(['iot:DescribeCertificate', 'iot:GetPolicy', 'iot:GetV2LoggingOptions']));
  });

  it('leaves the audit configuration and schedule to the account with -c iotAudit=off', () => {
    const { template } = build({ iotAudit: 'off' });
    template.resourceCountIs('AWS::IoT::AccountAuditConfiguration', 0);
    template.resourceCountIs('AWS::IoT::ScheduledAudit', 0);
    template.resourceCountIs('AWS::IoT::Logging', 1);
  });

  it('has no unacknowledged cdk-nag AwsSolutions finding', () => {
    const { stack } = build();
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });
});
