import { Aws, aws_iot as iot } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { devicePolicyDocument } from '../src/contracts/iot-policy.js';
import { TELEMETRY_RULE_NAME } from '../src/contracts/rules.js';

/** Props of {@link DevicePolicy}. */
export interface DevicePolicyProps {
  /**
   * The rule behind the Basic Ingest telemetry topic devices may publish to.
   * @default TELEMETRY_RULE_NAME
   */
  readonly telemetryRuleName?: string;
}

/**
 * The least-privilege IoT policy every device certificate gets (attached by `iotctl device create
 * --target aws`). The document is the same data the local broker evaluates; its thing-name
 * policy variables stay literal because ARNs are joined, never passed through Fn::Sub.
 */
export class DevicePolicy extends Construct {
  /** The generated policy name (AttachPolicy takes it). */
  public readonly policyName: string;
  /** The policy ARN. */
  public readonly policyArn: string;
  /** The underlying CloudFormation resource. */
  public readonly policy: iot.CfnPolicy;

  constructor(scope: Construct, id: string, props: DevicePolicyProps = {}) {
    super(scope, id);
    this.policy = new iot.CfnPolicy(this, 'Policy', {
      policyDocument: devicePolicyDocument({
        partition: Aws.PARTITION,
        region: Aws.REGION,
        account: Aws.ACCOUNT_ID,
        telemetryRuleName: props.telemetryRuleName ?? TELEMETRY_RULE_NAME,
      }),
    });
    this.policyName = this.policy.ref;
    this.policyArn = this.policy.attrArn;
  }
}
