/**
 * How a device's certificate is recorded in its registry metadata, so every process (the
 * broker, `iotctl device revoke`, the simulator) agrees on which certificate a device holds and
 * whether it was revoked, whichever process wrote it.
 */
import type { Device } from '../domain/device.js';

/** Metadata key: the AWS IoT certificate id (hex SHA-256 of the certificate) of the device. */
export const CERTIFICATE_ID_KEY = 'iot:certificateId';
/** Metadata key: ACTIVE or REVOKED. */
export const CERTIFICATE_STATUS_KEY = 'iot:certificateStatus';

/** The certificate state a registry record names. */
export interface CertificateState {
  readonly certificateId?: string;
  readonly revoked: boolean;
}

/** Reads the certificate state from a device's metadata. */
export function certificateStateOf(device: Pick<Device, 'metadata'>): CertificateState {
  const certificateId = device.metadata[CERTIFICATE_ID_KEY];
  return { ...(certificateId && { certificateId }), revoked: device.metadata[CERTIFICATE_STATUS_KEY] === 'REVOKED' };
}

/** Metadata entries recording an active certificate. */
export function activeCertificateMetadata(certificateId: string): Record<string, string> {
  return { [CERTIFICATE_ID_KEY]: certificateId, [CERTIFICATE_STATUS_KEY]: 'ACTIVE' };
}
