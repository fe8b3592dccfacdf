/**
 * Local provisioning: the local CA issues a certificate naming the thing (= the device id) and
 * the device is registered with that certificate recorded in its metadata, so the broker admits
 * exactly this certificate. Revocation marks the certificate REVOKED in the registry; the
 * change feed carries that to the broker, which disconnects the device.
 */
import { randomUUID } from 'node:crypto';
import type { Device } from '../domain/device.js';
import { isDomainError } from '../domain/errors.js';
import type { CreateDeviceInput, UpdateDeviceInput } from '../domain/device-registry.js';
import type { LocalCa } from '../local/ca.js';
import { activeCertificateMetadata, CERTIFICATE_STATUS_KEY } from './certificate-metadata.js';
import { deviceTopics, type DeviceBundle } from './device-bundle.js';

/** The registry operations provisioning needs (DeviceRegistry satisfies it). */
export interface ProvisioningRegistry {
  create(input: CreateDeviceInput): Promise<Device>;
  get(id: string): Promise<Device>;
  update(input: UpdateDeviceInput): Promise<Device>;
}

/** Where devices will connect. */
export interface MqttEndpoint {
  readonly host: string;
  readonly port: number;
}

/** Provisions one device locally and returns its bundle. */
export async function provisionLocalDevice(
  deps: { registry: ProvisioningRegistry; ca: LocalCa; endpoint: MqttEndpoint },
  input: { name: string; type: string; metadata?: Record<string, string> },
): Promise<{ device: Device; bundle: DeviceBundle }> {
  const id = randomUUID();
  const issued = await deps.ca.issueDeviceCertificate(id);
  const device = await deps.registry.create({
    id,
    name: input.name,
    type: input.type,
    metadata: { ...input.metadata, ...activeCertificateMetadata(issued.certificateId) },
  });
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

/** Marks the device's certificate REVOKED (idempotent); the broker refuses and disconnects it. */
export async function revokeLocalDevice(registry: ProvisioningRegistry, id: string): Promise<Device> {
  return markRevoked(registry, id);
}

/**
 * Sets the certificate status REVOKED with optimistic concurrency, re-reading on a conflict:
 * presence updates (ONLINE/OFFLINE) bump the version at any moment, and metadata is replaced
 * whole, so a blind write could drop a concurrent metadata change.
 */
export async function markRevoked(registry: ProvisioningRegistry, id: string, attempts = 5): Promise<Device> {
  for (let attempt = 1; ; attempt += 1) {
    const device = await registry.get(id);
    if (device.metadata[CERTIFICATE_STATUS_KEY] === 'REVOKED') return device;
    try {
      return await registry.update({ id, metadata: { ...device.metadata, [CERTIFICATE_STATUS_KEY]: 'REVOKED' }, expectedVersion: device.version });
    } catch (error) {
      if (!isDomainError(error) || error.code !== 'CONFLICT' || attempt >= attempts) throw error;
    }
  }
}
