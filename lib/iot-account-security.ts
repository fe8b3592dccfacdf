import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnAccountAuditConfiguration, CfnLogging, CfnScheduledAudit } from 'aws-cdk-lib/aws-iot';
import { Construct } from 'constructs';
import { choiceContextFlag } from './context-flags.js';

/** Levels of AWS IoT's account log (`-c iotLogLevel=...`). */
export const IOT_LOG_LEVELS = ['ERROR', 'WARN', 'INFO', 'DEBUG', 'DISABLED'] as const;
/** A level of AWS IoT's account log. */
export type IotLogLevel = (typeof IOT_LOG_LEVELS)[number];

/**
 * ERROR by default: denied connects, subscribes and publishes and failed rule actions are logged
 * at ERROR, which is what an investigation needs; INFO and DEBUG log every message of every
 * device, billed per event.
 */
export const DEFAULT_IOT_LOG_LEVEL: IotLogLevel = 'ERROR';

/** Who owns an account-wide IoT setting: this stack, or something else in the account (`off`). */
export const ACCOUNT_SETTING_OWNERS = ['stack', 'off'] as const;

/**
 * Device Defender checks that fit a fleet of certificate-authenticated devices with one IoT
 * policy; checks for CAs, role aliases and Cognito pools are left out (the stack has none).
 */
export const AUDIT_CHECKS = [
  'DEVICE_CERTIFICATE_EXPIRING_CHECK',
  'DEVICE_CERTIFICATE_SHARED_CHECK',
  'DEVICE_CERTIFICATE_KEY_QUALITY_CHECK',
  'REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK',
  'IOT_POLICY_OVERLY_PERMISSIVE_CHECK',
  'LOGGING_DISABLED_CHECK',
] as const;

/** Props of {@link IotAccountSecurity}. */
export interface IotAccountSecurityProps {
  /** @default - the `iotLogLevel` context flag, else {@link DEFAULT_IOT_LOG_LEVEL} */
  readonly logLevel?: IotLogLevel;
  /** Whether this stack sets the account's IoT logging. @default - the `iotLogging` context flag, else 'stack' */
  readonly logging?: (typeof ACCOUNT_SETTING_OWNERS)[number];
  /** Whether this stack sets the account's Device Defender audit and schedules it. @default - the `iotAudit` context flag, else 'stack' */
  readonly audit?: (typeof ACCOUNT_SETTING_OWNERS)[number];
}

/**
 * The account-wide IoT settings the fleet relies on: AWS IoT's own log, so denied connections
 * leave a trace, and a daily Device Defender audit of certificates, the device policy and
 * logging. An account has one of each, so each can be left to the account (`off`).
 */
export class IotAccountSecurity extends Construct {
  /** The account's IoT logging, when this stack owns it. */
  public readonly logging?: CfnLogging;
  /** The daily audit, when this stack owns the audit configuration. */
  public readonly scheduledAudit?: CfnScheduledAudit;

  constructor(scope: Construct, id: string, props: IotAccountSecurityProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    if ((props.logging ?? choiceContextFlag(this, 'iotLogging', ACCOUNT_SETTING_OWNERS, 'stack')) === 'stack') {
      this.logging = this.createLogging(stack, props.logLevel ?? choiceContextFlag(this, 'iotLogLevel', IOT_LOG_LEVELS, DEFAULT_IOT_LOG_LEVEL));
    }
    if ((props.audit ?? choiceContextFlag(this, 'iotAudit', ACCOUNT_SETTING_OWNERS, 'stack')) === 'stack') {
      this.scheduledAudit = this.createAudit(stack);
    }
  }

  private createLogging(stack: Stack, level: IotLogLevel): CfnLogging {
    const role = new Role(this, 'LoggingRole', {
      assumedBy: iotPrincipal(stack),
      description: 'Lets AWS IoT write its account log (AWSIotLogsV2)',
    });
    // AWS IoT writes into the fixed group AWSIotLogsV2 and names its streams itself.
    role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: 'AWSIotLogsV2:*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:AWSIotLogsV2:*]',
      reason: 'AWS IoT logs into the one group AWSIotLogsV2 and names its log streams itself; the wildcard is the streams of that group only.',
    });
    return new CfnLogging(this, 'Logging', { accountId: stack.account, roleArn: role.roleArn, defaultLogLevel: level });
  }

  private createAudit(stack: Stack): CfnScheduledAudit {
    const role = new Role(this, 'AuditRole', {
      assumedBy: iotPrincipal(stack),
      description: 'Lets Device Defender read what its audit checks: certificates, IoT policies and the logging options',
    });
    role.addToPolicy(
      new PolicyStatement({
        actions: [
          'iot:ListCertificates',
          'iot:DescribeCertificate',
          'iot:ListPolicies',
          'iot:GetPolicy',
          'iot:GetPolicyVersion',
          'iot:ListPolicyVersions',
          'iot:ListTargetsForPolicy',
          'iot:GetLoggingOptions',
          'iot:GetV2LoggingOptions',
        ],
        resources: ['*'],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'An audit reads every certificate and IoT policy of the account, and the list and logging-options actions support no resource-level permissions; the role holds read actions only.',
    });
    const on = { enabled: true };
    // Checks left out here are off in the account (the configuration lists every check it enables).
    const configuration = new CfnAccountAuditConfiguration(this, 'AuditConfiguration', {
      accountId: stack.account,
      roleArn: role.roleArn,
      auditCheckConfigurations: {
        deviceCertificateExpiringCheck: on,
        deviceCertificateSharedCheck: on,
        deviceCertificateKeyQualityCheck: on,
        revokedDeviceCertificateStillActiveCheck: on,
        iotPolicyOverlyPermissiveCheck: on,
        loggingDisabledCheck: on,
      },
    });
    const audit = new CfnScheduledAudit(this, 'DailyAudit', { frequency: 'DAILY', targetCheckNames: [...AUDIT_CHECKS] });
    // The checks must be enabled in the account before a scheduled audit may name them.
    audit.node.addDependency(configuration);
    return audit;
  }
}

/**
 * AWS IoT as a principal for this account and region only (confused-deputy conditions); logging
 * and audit act for the account, not one IoT resource, so the source is any IoT ARN of it.
 */
function iotPrincipal(stack: Stack): ServicePrincipal {
  return new ServicePrincipal('iot.amazonaws.com', {
    conditions: {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'iot', resource: '*', arnFormat: ArnFormat.NO_RESOURCE_NAME }) },
    },
  });
}
