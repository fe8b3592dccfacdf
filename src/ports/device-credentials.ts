/**
 * Which certificate a device may connect with, and whether it was revoked. Kept apart from the
 * registry on purpose: the registry's doors (GraphQL, gRPC, the domain core) can replace a
 * device's name, type, status and metadata, and none of them may re-admit a revoked device or
 * bind it to another certificate. Only provisioning (`iotctl device create|revoke`) writes it.
 */

/** ACTIVE: the bound certificate may connect. REVOKED: no certificate of the device may. */
export type CertificateStatus = 'ACTIVE' | 'REVOKED';

/** A device's certificate binding, read with its registry version. */
export interface CertificateBinding {
  readonly deviceId: string;
  /** The AWS IoT certificate id (hex SHA-256 of the DER certificate); absent until bound. */
  readonly certificateId?: string;
  readonly status?: CertificateStatus;
  /** ISO time of the first revocation. */
  readonly revokedAt?: string;
  /** The device's registry version; binding and revoking increment it, so the change feed carries them. */
  readonly version: number;
}

/** Reads bindings (the broker's admission check). */
export interface CertificateBindingReader {
  /** The binding of a registered device (certificateId absent when none is bound); undefined when there is no such device. */
  get(deviceId: string): Promise<CertificateBinding | undefined>;
}

/** Reads and writes bindings; both writes require the device to exist and never create it. */
export interface DeviceCredentialStore extends CertificateBindingReader {
  /**
   * Binds `certificateId` as the device's only admitted certificate (ACTIVE). Idempotent for the
   * bound certificate. NotFoundError when the device does not exist; ConflictError when this
   * certificate was revoked for it (a revoked certificate is never admitted again).
   */
  bind(deviceId: string, certificateId: string): Promise<CertificateBinding>;
  /** Marks the device REVOKED (idempotent: the first revokedAt is kept). NotFoundError when it does not exist. */
  revoke(deviceId: string): Promise<CertificateBinding>;
}

/** Whether a binding admits a client presenting `certificateId`: bound to exactly it, and not revoked (fail closed). */
export function admits(binding: CertificateBinding | undefined, certificateId: string): boolean {
  return binding !== undefined && binding.status === 'ACTIVE' && binding.certificateId !== undefined && binding.certificateId === certificateId;
}
