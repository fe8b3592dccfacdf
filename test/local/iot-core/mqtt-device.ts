/**
 * MQTT.js as a device, for tests against the real broker. A refused TLS handshake is a bare
 * socket close, so connecting settles on `close` as well as on `error`.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { DeviceBundle } from '../../../src/provisioning/device-bundle.js';

export interface DeviceCredentials {
  readonly cert?: string;
  readonly key?: string;
  readonly ca: string;
}

/** Outcome of a connection attempt. */
export type ConnectOutcome = { ok: true; client: MqttClient } | { ok: false; error: string };

/** The MQTT versions IoT Core accepts: 3.1.1 (4) and 5. */
export type MqttVersion = 4 | 5;

/** Connects once (no reconnects); never hangs. */
export function connectDevice(url: string, clientId: string, credentials: DeviceCredentials, protocolVersion: MqttVersion = 4): Promise<ConnectOutcome> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, {
      clientId,
      protocolVersion,
      reconnectPeriod: 0,
      // Room for a TLS handshake on a loaded machine; a refusal still settles at once (on close).
      connectTimeout: 10_000,
      ca: credentials.ca,
      ...(credentials.cert && { cert: credentials.cert }),
      ...(credentials.key && { key: credentials.key }),
      rejectUnauthorized: true,
    });
    const fail = (error: string) => {
      client.end(true);
      resolve({ ok: false, error });
    };
    client.once('connect', () => resolve({ ok: true, client }));
    client.once('error', (error) => fail(error.message));
    client.once('close', () => fail('closed'));
  });
}

/** Resolves when the client's connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve();
    client.once('close', () => resolve());
  });
}

/** The certificate, key and CA of a device bundle, as {@link connectDevice} takes them. */
export function bundleCredentials(bundle: DeviceBundle): DeviceCredentials {
  return { cert: bundle.certificatePem, key: bundle.privateKeyPem, ca: bundle.caCertificatePem };
}

/** Connects as `bundle`'s device (its thing name as client id, no reconnects); throws when refused. */
export async function connectBundle(url: string, bundle: DeviceBundle, protocolVersion: MqttVersion = 4): Promise<MqttClient> {
  const outcome = await connectDevice(url, bundle.manifest.thingName, bundleCredentials(bundle), protocolVersion);
  if (!outcome.ok) throw new Error(`${bundle.manifest.thingName}: connect failed: ${outcome.error}`);
  return outcome.client;
}
