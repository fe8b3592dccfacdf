import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { type IRole, Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Why a function may act on any of the account's certificates and things, for cdk-nag. */
export interface CertificateRetirementReasons {
  /** Where the certificate to retire comes from at run time. */
  readonly certificate: string;
  /** Where the thing to detach it from comes from at run time. */
  readonly thing: string;
}

/**
 * Lets `role` retire a device certificate as the finish of a rotation and a device's deletion
 * do: describe it, mark it REVOKED, detach its policies and detach it from its thing. The
 * certificate and the thing are known only at run time, so the grant is on this account's and
 * region's certificates and things, with the two wildcard findings acknowledged by `reasons`.
 */
export function grantCertificateRetirement(scope: Construct, id: string, role: IRole, reasons: CertificateRetirementReasons): Policy {
  const iotArn = (resource: string) => Stack.of(scope).formatArn({ service: 'iot', resource, arnFormat: ArnFormat.NO_RESOURCE_NAME });
  const policy = new Policy(scope, id, {
    statements: [
      new PolicyStatement({
        actions: ['iot:DescribeCertificate', 'iot:UpdateCertificate', 'iot:ListAttachedPolicies', 'iot:DetachPolicy', 'iot:DetachThingPrincipal'],
        resources: [iotArn('cert/*')],
      }),
      new PolicyStatement({ actions: ['iot:DetachThingPrincipal'], resources: [iotArn('thing/*')] }),
    ],
  });
  policy.attachToRole(role);
  const nag = (resource: string) => `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:${resource}]`;
  Validations.of(policy).acknowledge({ id: nag('cert/*'), reason: reasons.certificate });
  Validations.of(policy).acknowledge({ id: nag('thing/*'), reason: reasons.thing });
  return policy;
}
