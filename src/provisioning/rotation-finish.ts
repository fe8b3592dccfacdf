/**
 * Finishing a certificate rotation: the previous certificate stops being admitted and the
 * binding keeps only the new one. Apart from the beginning of a rotation so the scheduled sweep
 * (lambdas/rotation-sweep) bundles only the finish: `iotctl device rotate --finish` and the
 * sweep run this same code.
 */
import { IotCredentialRetirer } from '../adapters/iot/iot-credential-retirer.js';
import { ConflictError, NotFoundError } from '../domain/errors.js';
import { validateDeviceId } from '../domain/validation.js';
import type { CertificateBinding, DeviceCredentialStore } from '../ports/device-credentials.js';
import type { RetirementSender } from '../adapters/iot/iot-credential-retirer.js';

/** A rotation finished: the previous certificate is no longer admitted. */
export interface RotationFinished {
  readonly binding: CertificateBinding;
  readonly retiredCertificateId: string;
}

/** How a finish is asked for. */
export interface FinishOptions {
  /**
   * Finish only a rotation whose grace period ended at or before this instant (the sweep's
   * guard: its index may still list a rotation that was finished and begun again since).
   * @default finish whatever the grace end
   */
  readonly dueBy?: Date;
}

/** The binding of a device whose rotation can be finished now. */
async function finishableBinding(
  credentials: DeviceCredentialStore,
  id: string,
  options: FinishOptions = {},
): Promise<CertificateBinding & { certificateId: string; pendingCertificateId: string }> {
  const binding = await credentials.get(id);
  if (!binding) throw new NotFoundError(`device ${id} does not exist (deleted or never created)`);
  if (binding.status === 'REVOKED') throw new ConflictError(`cannot finish the rotation of device ${id}: it is revoked`, binding.version);
  if (binding.pendingCertificateId === undefined || binding.certificateId === undefined) {
    throw new ConflictError(`cannot finish the rotation of device ${id}: no rotation is pending (start one with rotate)`, binding.version);
  }
  if (options.dueBy !== undefined && !(Date.parse(binding.graceEndsAt ?? '') <= options.dueBy.getTime())) {
    throw new ConflictError(`the rotation of device ${id} is not due: its grace period ends at ${binding.graceEndsAt ?? '?'}`, binding.version);
  }
  return binding as CertificateBinding & { certificateId: string; pendingCertificateId: string };
}

/** Finishes a local rotation: the broker refuses the previous certificate and ends its sessions (through the change feed). */
export async function finishLocalRotation(credentials: DeviceCredentialStore, deviceId: string, options: FinishOptions = {}): Promise<RotationFinished> {
  const id = validateDeviceId(deviceId, 'id');
  const binding = await finishableBinding(credentials, id, options);
  return { binding: await credentials.finishRotation(id, binding.pendingCertificateId), retiredCertificateId: binding.certificateId };
}

/**
 * Finishes a rotation in AWS: the previous certificate is revoked (UpdateCertificate REVOKED),
 * its policies and thing principal detached, then the binding keeps only the new one. Revoking
 * first means a finish interrupted half-way is simply run again; the new certificate is never
 * touched, so the device keeps a valid one throughout. `iotctl device rotate --finish --target
 * aws` and the scheduled rotation sweep both finish through here.
 */
export async function finishAwsRotation(
  deps: { iot: RetirementSender; credentials: DeviceCredentialStore; progress?: (step: string) => void },
  deviceId: string,
  options: FinishOptions = {},
): Promise<RotationFinished> {
  const id = validateDeviceId(deviceId, 'id');
  const binding = await finishableBinding(deps.credentials, id, options);
  await new IotCredentialRetirer(deps.iot).retire(id, binding.certificateId);
  deps.progress?.(`revoked certificate ${binding.certificateId} and detached its policies and thing`);
  return { binding: await deps.credentials.finishRotation(id, binding.pendingCertificateId), retiredCertificateId: binding.certificateId };
}
