/**
 * Local provisioning: the local CA issues a certificate naming the thing (= the device id), the
 * device is registered, and the certificate is bound to it in the credential store (not in its
 * metadata, which registry callers may edit), so the broker admits exactly this certificate.
 * Revocation marks the binding REVOKED; the change feed carries that to the broker, which
 * disconnects the device.
 */
import { randomUUID } from 'node:crypto';
import type { Device } from '../domain/device.js';
import { isDomainError } from '../domain/errors.js';
import type { CreateDeviceInput } from '../domain/device-registry.js';
import type { LocalCa, SignedCertificate } from '../local/iot-core/ca.js';
import type { CertificateRequest } from './certificate-request.js';
import type { CertificateBinding, DeviceCredentialStore } from '../ports/device-credentials.js';
import { deviceTopics, type DeviceBundle } from './device-bundle.js';

/** The registry operations provisioning needs (DeviceRegistry satisfies it). */
export interface ProvisioningRegistry {
  create(input: CreateDeviceInput): Promise<Device>;
  get(id: string): Promise<Device>;
}

/** Where devices will connect. */
export interface MqttEndpoint {
  readonly host: string;
  readonly port: number;
}

/** What local provisioning talks to. */
export interface LocalProvisioningDeps {
  readonly registry: ProvisioningRegistry;
  readonly credentials: DeviceCredentialStore;
  readonly ca: LocalCa;
  readonly endpoint: MqttEndpoint;
}

/** One device to provision; `csr` when the device made its own key. */
export interface LocalDeviceInput {
  readonly name: string;
  readonly type: string;
  readonly metadata?: Record<string, string>;
  readonly csr?: CertificateRequest;
}

/**
 * Provisions one device locally and returns its bundle. With a checked CSR the CA signs the
 * device's own public key and the bundle carries no private key: it never left the device.
 */
export async function provisionLocalDevice(
  deps: LocalProvisioningDeps,
  input: LocalDeviceInput & { csr?: undefined },
): Promise<{ device: Device; bundle: DeviceBundle & { privateKeyPem: string } }>;
export async function provisionLocalDevice(deps: LocalProvisioningDeps, input: LocalDeviceInput): Promise<{ device: Device; bundle: DeviceBundle }>;
export async function provisionLocalDevice(deps: LocalProvisioningDeps, input: LocalDeviceInput): Promise<{ device: Device; bundle: DeviceBundle }> {
  const id = randomUUID();
  let issued: SignedCertificate;
  let privateKeyPem: string | undefined;
  if (input.csr) {
    issued = await deps.ca.signDeviceCsr(id, input.csr);
  } else {
    const own = await deps.ca.issueDeviceCertificate(id);
    issued = own;
    privateKeyPem = own.privateKeyPem;
  }
  await deps.registry.create({ id, name: input.name, type: input.type, ...(input.metadata && { metadata: input.metadata }) });
  // Until this bind the broker refuses every certificate of the new device (fail closed).
  await deps.credentials.bind(id, issued.certificateId);
  const device = await deps.registry.get(id);
  return {
    device,
    bundle: {
      manifest: {
        thingName: id,
        deviceId: id,
        name: device.name,
        type: device.type,
        target: 'local',
        endpoint: deps.endpoint.host,
        port: deps.endpoint.port,
        certificateId: issued.certificateId,
        topics: deviceTopics(id),
      },
      certificatePem: issued.certificatePem,
      ...(privateKeyPem !== undefined && { privateKeyPem }),
      caCertificatePem: deps.ca.caCertificatePem,
    },
  };
}

/**
 * Marks the device's certificate REVOKED (idempotent); the broker refuses and disconnects it.
 * A deleted device (or an id never registered) has no binding, so the broker admits no
 * certificate of it already: the outcome says so instead of failing.
 */
export async function revokeLocalDevice(credentials: DeviceCredentialStore, id: string): Promise<{ deleted: false; binding: CertificateBinding } | { deleted: true }> {
  try {
    return { deleted: false, binding: await credentials.revoke(id) };
  } catch (error) {
    if (isDomainError(error) && error.code === 'NOT_FOUND') return { deleted: true };
    throw error;
  }
}
