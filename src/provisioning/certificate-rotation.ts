/**
 * Certificate rotation: a device gets a second certificate, admitted beside the first for a
 * grace period, so it can switch over while it keeps running; finishing the rotation retires
 * the first. The binding moves by conditional writes (begin: only from "active, nothing
 * pending"; finish: only from "this certificate pending"), so two rotations at once leave one
 * pending certificate and the loser's certificate is retired, and the device always has at
 * least one admitted certificate.
 *
 * Locally the local CA issues (or signs the device's CSR) and the broker enforces the binding.
 * In AWS the new certificate is created, activated, given the device policy and attached to the
 * thing before the binding names it, and finishing revokes the old one in IoT Core before the
 * binding forgets it, so a retried finish still knows which certificate to revoke.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AttachPolicyCommand, AttachThingPrincipalCommand, CreateCertificateFromCsrCommand, CreateKeysAndCertificateCommand, DescribeEndpointCommand } from '@aws-sdk/client-iot';
import { IotCredentialRetirer } from '../adapters/iot/iot-credential-retirer.js';
import { ConflictError, isDomainError, NotFoundError, ValidationError } from '../domain/errors.js';
import { validateDeviceId } from '../domain/validation.js';
import type { LocalCa, SignedCertificate } from '../local/iot-core/ca.js';
import type { CertificateBinding, DeviceCredentialStore } from '../ports/device-credentials.js';
import type { IotSender } from './aws-provisioner.js';
import type { CertificateRequest } from './certificate-request.js';
import { BUNDLE_FILES, deviceTopics, writeDeviceBundle, type DeviceBundle, type DeviceManifest } from './device-bundle.js';
import type { MqttEndpoint, ProvisioningRegistry } from './local-provisioner.js';

export { finishAwsRotation, finishLocalRotation, type FinishOptions, type RotationFinished } from './rotation-finish.js';

/**
 * How long both certificates are admitted when no grace is given: a week covers devices that
 * check in daily or sleep over a weekend, while a leaked old key stays usable for at most that
 * long after the operator started replacing it.
 */
export const DEFAULT_ROTATION_GRACE_MS = 7 * 24 * 60 * 60 * 1000;
/** Shortest grace: long enough for a connected device to fetch its new bundle. */
export const MIN_ROTATION_GRACE_MS = 1000;
/** Longest grace: a replaced key should not stay valid for more than a quarter. */
export const MAX_ROTATION_GRACE_MS = 90 * 24 * 60 * 60 * 1000;

/** What a rotation asks for. */
export interface RotationRequest {
  /** The device's own CSR (checked): its key never leaves the device. Without it, a key is made here. */
  readonly csr?: CertificateRequest;
  /** How long the current certificate stays admitted beside the new one. @default DEFAULT_ROTATION_GRACE_MS */
  readonly graceMs?: number;
}

/** A rotation begun: the binding with its pending certificate, and the bundle of the new certificate. */
export interface RotationStarted {
  readonly binding: CertificateBinding;
  /** The previous certificate, admitted until `binding.graceEndsAt` or the finish. */
  readonly previousCertificateId: string;
  readonly bundle: DeviceBundle;
}


function graceOf(request: RotationRequest): number {
  const graceMs = request.graceMs ?? DEFAULT_ROTATION_GRACE_MS;
  if (!Number.isInteger(graceMs) || graceMs < MIN_ROTATION_GRACE_MS || graceMs > MAX_ROTATION_GRACE_MS) {
    throw new ValidationError(`the grace period must be from ${MIN_ROTATION_GRACE_MS / 1000} s to ${MAX_ROTATION_GRACE_MS / 86_400_000} days`, 'grace');
  }
  return graceMs;
}

/** The binding of a device that can be rotated now; typed errors for every other state, before anything is created. */
async function rotatableBinding(credentials: DeviceCredentialStore, id: string): Promise<CertificateBinding & { certificateId: string }> {
  const binding = await credentials.get(id);
  if (!binding) throw new NotFoundError(`device ${id} does not exist (deleted or never created)`);
  if (binding.status === 'REVOKED') throw new ConflictError(`cannot rotate device ${id}: it is revoked; a revoked device gets no new certificate`, binding.version);
  if (binding.certificateId === undefined || binding.status !== 'ACTIVE') {
    throw new ConflictError(`cannot rotate device ${id}: it has no active certificate to rotate from`, binding.version);
  }
  if (binding.pendingCertificateId !== undefined) {
    throw new ConflictError(
      `cannot rotate device ${id}: a rotation to certificate ${binding.pendingCertificateId} is already pending since ${binding.rotationStartedAt ?? '?'}; finish it first (rotate --finish)`,
      binding.version,
    );
  }
  return binding as CertificateBinding & { certificateId: string };
}



function rotatedManifest(base: { id: string; name: string; type: string }, target: DeviceManifest['target'], endpoint: MqttEndpoint, certificateId: string): DeviceManifest {
  return {
    thingName: base.id,
    deviceId: base.id,
    name: base.name,
    type: base.type,
    target,
    endpoint: endpoint.host,
    port: endpoint.port,
    certificateId,
    topics: deviceTopics(base.id),
  };
}

/** What a local rotation needs. */
export interface LocalRotationDeps {
  readonly registry: ProvisioningRegistry;
  readonly credentials: DeviceCredentialStore;
  readonly ca: LocalCa;
  readonly endpoint: MqttEndpoint;
}

/**
 * Begins a local rotation: the local CA issues (or signs the CSR of) a second certificate, its
 * bundle is written to `out` (before the binding names it, so a pending certificate always has
 * its key on disk), then it is bound as pending.
 */
export async function rotateLocalDevice(deps: LocalRotationDeps, deviceId: string, out: string, request: RotationRequest = {}): Promise<RotationStarted> {
  const id = validateDeviceId(deviceId, 'id');
  const graceMs = graceOf(request);
  const current = await rotatableBinding(deps.credentials, id);
  const device = await deps.registry.get(id);
  let issued: SignedCertificate;
  let privateKeyPem: string | undefined;
  if (request.csr) {
    issued = await deps.ca.signDeviceCsr(id, request.csr);
  } else {
    const own = await deps.ca.issueDeviceCertificate(id);
    issued = own;
    privateKeyPem = own.privateKeyPem;
  }
  const bundle: DeviceBundle = {
    manifest: rotatedManifest(device, 'local', deps.endpoint, issued.certificateId),
    certificatePem: issued.certificatePem,
    ...(privateKeyPem !== undefined && { privateKeyPem }),
    caCertificatePem: deps.ca.caCertificatePem,
  };
  await writeDeviceBundle(out, bundle);
  let binding: CertificateBinding;
  try {
    binding = await deps.credentials.beginRotation(id, issued.certificateId, graceMs);
  } catch (error) {
    // An unbound local certificate admits nothing: removing its files is all the clean-up a lost race needs.
    if (isDomainError(error) && (error.code === 'CONFLICT' || error.code === 'NOT_FOUND')) await removeBundle(out);
    throw error;
  }
  return { binding, previousCertificateId: current.certificateId, bundle };
}

async function removeBundle(out: string): Promise<void> {
  await Promise.all(Object.values(BUNDLE_FILES).map((file) => rm(join(out, file), { force: true })));
}


/** What a rotation in AWS needs. */
export interface AwsRotationDeps {
  readonly iot: IotSender;
  readonly registry: ProvisioningRegistry;
  readonly credentials: DeviceCredentialStore;
  /** The DevicePolicy stack output. */
  readonly policyName: string;
  /** The Amazon root CA devices verify the endpoint with (ca.crt). */
  readonly rootCa: () => Promise<string>;
  /** @default 8883 */
  readonly port?: number;
  /** Told of each control-plane step as it completes. */
  readonly progress?: (step: string) => void;
}

/**
 * Begins a rotation in AWS IoT Core: CreateKeysAndCertificate (or CreateCertificateFromCsr)
 * active, the bundle written (the key is returned only once), AttachPolicy,
 * AttachThingPrincipal, then the pending binding. When the binding refuses (another rotation
 * won, the device was revoked or deleted meanwhile) the new certificate is revoked and
 * detached again and its bundle removed, so no second pending certificate survives.
 */
export async function rotateAwsDevice(deps: AwsRotationDeps, deviceId: string, out: string, request: RotationRequest = {}): Promise<RotationStarted> {
  const id = validateDeviceId(deviceId, 'id');
  const graceMs = graceOf(request);
  const current = await rotatableBinding(deps.credentials, id);
  const device = await deps.registry.get(id);
  const endpoint = ((await deps.iot.send(new DescribeEndpointCommand({ endpointType: 'iot:Data-ATS' }))) as { endpointAddress?: string }).endpointAddress;
  if (!endpoint) throw new Error('DescribeEndpoint returned no address');
  const caCertificatePem = await deps.rootCa();

  let created: { certificateArn?: string; certificateId?: string; certificatePem?: string; keyPair?: { PrivateKey?: string } };
  if (request.csr) {
    created = (await deps.iot.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest: request.csr.pem, setAsActive: true }))) as typeof created;
  } else {
    created = (await deps.iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }))) as typeof created;
    if (!created.keyPair?.PrivateKey) throw new Error('CreateKeysAndCertificate returned no key');
  }
  const { certificateArn, certificateId, certificatePem } = created;
  if (!certificateArn || !certificateId || !certificatePem) throw new Error('IoT returned no certificate');
  const progress = deps.progress ?? (() => undefined);
  progress(`created certificate ${certificateId} (active)${request.csr ? ' from the device CSR' : ''}`);
  const bundle: DeviceBundle = {
    manifest: rotatedManifest(device, 'aws', { host: endpoint, port: deps.port ?? 8883 }, certificateId),
    certificatePem,
    ...(created.keyPair?.PrivateKey !== undefined && { privateKeyPem: created.keyPair.PrivateKey }),
    caCertificatePem,
  };
  const retireNew = async (cause: unknown): Promise<never> => {
    await new IotCredentialRetirer(deps.iot).retire(id, certificateId);
    await removeBundle(out);
    throw cause;
  };
  try {
    await writeDeviceBundle(out, bundle);
    progress(`wrote ${out}`);
    await deps.iot.send(new AttachPolicyCommand({ policyName: deps.policyName, target: certificateArn }));
    progress(`attached policy ${deps.policyName}`);
    await deps.iot.send(new AttachThingPrincipalCommand({ thingName: id, principal: certificateArn }));
    progress(`attached to thing ${id}`);
  } catch (error) {
    return retireNew(error);
  }
  let binding: CertificateBinding;
  try {
    binding = await deps.credentials.beginRotation(id, certificateId, graceMs);
  } catch (error) {
    // Only a definite refusal retires it: after an outage the write may have landed.
    if (isDomainError(error) && (error.code === 'CONFLICT' || error.code === 'NOT_FOUND')) {
      progress(`binding refused (${error.message}): revoking and detaching certificate ${certificateId} again`);
      return retireNew(error);
    }
    throw error;
  }
  return { binding, previousCertificateId: current.certificateId, bundle };
}
