/**
 * Which certificate a device may connect with, and whether it was revoked. Kept apart from the
 * registry on purpose: the registry's doors (GraphQL, gRPC, the domain core) can replace a
 * device's name, type, status and metadata, and none of them may re-admit a revoked device or
 * bind it to another certificate. Only provisioning (`iotctl device create|rotate|revoke`) writes it.
 *
 * Rotation: a second certificate is bound beside the first as `pendingCertificateId`; both are
 * admitted until the rotation is finished (the pending one becomes the only one) or its grace
 * period ends (only the pending one is admitted). At most one rotation is pending at a time, so
 * a device has at most two admitted certificates and always at least one.
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
  /** The certificate of a rotation in progress, admitted beside `certificateId`. */
  readonly pendingCertificateId?: string;
  /** ISO time the pending rotation began. */
  readonly rotationStartedAt?: string;
  /** ISO time after which `certificateId` is no longer admitted while a rotation is pending. */
  readonly graceEndsAt?: string;
  /** The device's registry version; binding and revoking increment it, so the change feed carries them. */
  readonly version: number;
}

/** Reads bindings (the broker's admission check). */
export interface CertificateBindingReader {
  /** The binding of a registered device (certificateId absent when none is bound); undefined when there is no such device. */
  get(deviceId: string): Promise<CertificateBinding | undefined>;
}

/** Reads and writes bindings; every write requires the device to exist and never creates it. */
export interface DeviceCredentialStore extends CertificateBindingReader {
  /**
   * Binds `certificateId` as the device's only admitted certificate (ACTIVE). Idempotent for the
   * bound certificate. NotFoundError when the device does not exist; ConflictError when this
   * certificate was revoked for it (a revoked certificate is never admitted again) or a rotation is pending.
   */
  bind(deviceId: string, certificateId: string): Promise<CertificateBinding>;
  /** Marks the device REVOKED (idempotent: the first revokedAt is kept). NotFoundError when it does not exist. */
  revoke(deviceId: string): Promise<CertificateBinding>;
  /**
   * Binds `certificateId` as the pending certificate of a rotation, admitted beside the current
   * one for `graceMs` from the moment of this write. Idempotent for the same pending certificate. NotFoundError when the
   * device does not exist; ConflictError when it has no active certificate, is revoked, or already
   * has another rotation pending.
   */
  beginRotation(deviceId: string, certificateId: string, graceMs: number): Promise<CertificateBinding>;
  /**
   * Makes the pending certificate `certificateId` the only one: the previous one is no longer
   * admitted. Idempotent once finished. NotFoundError when the device does not exist;
   * ConflictError when no rotation to `certificateId` is pending.
   */
  finishRotation(deviceId: string, certificateId: string): Promise<CertificateBinding>;
}

/** The certificates a binding still names (current and pending): what must be retired with the device. */
export function boundCertificates(binding: Pick<CertificateBinding, 'certificateId' | 'pendingCertificateId'>): string[] {
  return [binding.certificateId, binding.pendingCertificateId].filter((id): id is string => id !== undefined);
}

/**
 * Whether a binding admits a client presenting `certificateId` at `nowMs`: the device is not
 * revoked and the certificate is its pending one, or its current one (while a rotation is
 * pending, only until the grace period ends). Fail closed: anything else is refused.
 */
export function admits(binding: CertificateBinding | undefined, certificateId: string, nowMs: number = Date.now()): boolean {
  if (binding === undefined || binding.status !== 'ACTIVE' || !certificateId) return false;
  if (binding.pendingCertificateId === certificateId) return true;
  if (binding.certificateId !== certificateId) return false;
  return binding.pendingCertificateId === undefined || !graceIsOver(binding, nowMs);
}

/** Whether a pending rotation's grace period is over (a binding without one never is). */
function graceIsOver(binding: CertificateBinding, nowMs: number): boolean {
  const ends = binding.graceEndsAt === undefined ? Number.NaN : Date.parse(binding.graceEndsAt);
  // An unreadable deadline ends the grace: fail closed on the certificate being replaced.
  return Number.isNaN(ends) || nowMs >= ends;
}

/** When the current certificate stops being admitted because of a pending rotation; undefined when it is not being replaced. */
export function graceEndOf(binding: CertificateBinding | undefined): number | undefined {
  if (binding?.pendingCertificateId === undefined) return undefined;
  const ends = binding.graceEndsAt === undefined ? Number.NaN : Date.parse(binding.graceEndsAt);
  return Number.isNaN(ends) ? 0 : ends;
}
