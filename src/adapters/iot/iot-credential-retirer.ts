/**
 * CredentialRetirer over the AWS IoT control plane. For a deleted device's certificate:
 * 1. UpdateCertificate REVOKED (unless it already is): the device is cut off first. REVOKED,
 *    not INACTIVE: the device is gone for good, and INACTIVE can be switched back to ACTIVE by
 *    anyone allowed iot:UpdateCertificate, while a revoked certificate stays revoked.
 * 2. DetachPolicy of every policy attached to it (ListAttachedPolicies).
 * 3. DetachThingPrincipal from the device's thing.
 * Every step is idempotent: a certificate, policy attachment or principal already gone
 * (ResourceNotFoundException) counts as done, so a redelivered DELETED record changes nothing.
 * Any other failure is thrown, so the stream record is retried and finally dead-lettered.
 */
import {
  DescribeCertificateCommand,
  DetachPolicyCommand,
  DetachThingPrincipalCommand,
  ListAttachedPoliciesCommand,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import type { CredentialRetirer } from '../../ports/credential-retirer.js';

/** The control-plane commands the retirer sends. */
export type RetirementCommand =
  | DescribeCertificateCommand
  | UpdateCertificateCommand
  | ListAttachedPoliciesCommand
  | DetachPolicyCommand
  | DetachThingPrincipalCommand;

/** What the retirer needs of an IoTClient. */
export interface RetirementSender {
  send(command: RetirementCommand): Promise<unknown>;
}

const gone = (error: unknown): boolean => (error as { name?: string }).name === 'ResourceNotFoundException';

/** Retires certificates through the IoT control plane. */
export class IotCredentialRetirer implements CredentialRetirer {
  constructor(private readonly iot: RetirementSender) {}

  async retire(thingName: string, certificateId: string): Promise<void> {
    let description: { certificateDescription?: { certificateArn?: string; status?: string } };
    try {
      description = (await this.iot.send(new DescribeCertificateCommand({ certificateId }))) as typeof description;
    } catch (error) {
      if (gone(error)) return;
      throw error;
    }
    const arn = description.certificateDescription?.certificateArn;
    if (!arn) throw new Error(`DescribeCertificate returned no ARN for certificate ${certificateId}`);
    if (description.certificateDescription?.status !== 'REVOKED') {
      await this.iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'REVOKED' }));
    }
    let marker: string | undefined;
    do {
      const page = (await this.iot.send(new ListAttachedPoliciesCommand({ target: arn, ...(marker && { marker }) }))) as {
        policies?: Array<{ policyName?: string }>;
        nextMarker?: string;
      };
      for (const { policyName } of page.policies ?? []) {
        if (!policyName) continue;
        await this.iot.send(new DetachPolicyCommand({ policyName, target: arn })).catch((error: unknown) => {
          if (!gone(error)) throw error;
        });
      }
      marker = page.nextMarker;
    } while (marker);
    await this.iot.send(new DetachThingPrincipalCommand({ thingName, principal: arn })).catch((error: unknown) => {
      if (!gone(error)) throw error;
    });
  }
}
