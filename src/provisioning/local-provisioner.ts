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
import type { LocalCa } from '../local/iot-core/ca.js';
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

/** Provisions one device locally and returns its bundle. */
export async function provisionLocalDevice(
  deps: { registry: ProvisioningRegistry; credentials: DeviceCredentialStore; ca: LocalCa; endpoint: MqttEndpoint },
  input: { name: string; type: string; metadata?: Record<string, string> },
): Promise<{ device: Device; bundle: DeviceBundle }> {
  const id = randomUUID();
  const issued = await deps.ca.issueDeviceCertificate(id);
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
      privateKeyPem: issued.privateKeyPem,
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
