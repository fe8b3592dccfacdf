/** Devices on a running local platform, as MQTT.js clients (3.1.1 or 5), for the commands and twin tests. */
import type { MqttClient } from 'mqtt';
import { connectBundle } from '../local/iot-core/mqtt-device.js';
import { openLocalCa } from '../../src/local/iot-core/ca.js';
import type { LocalPlatform } from '../../src/local/platform.js';
import { provisionLocalDevice } from '../../src/provisioning/local-provisioner.js';
import type { DeviceBundle } from '../../src/provisioning/device-bundle.js';

/** A provisioned device's certificate bundle. */
export async function provisionDevice(platform: LocalPlatform, dataDir: string, name: string): Promise<DeviceBundle> {
  const mqttUrl = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:'));
  const ca = await openLocalCa(dataDir);
  const { bundle } = await provisionLocalDevice(
    { registry: platform.registry, credentials: platform.credentials, ca, endpoint: { host: mqttUrl.hostname, port: Number(mqttUrl.port) } },
    { name, type: 'commands-test' },
  );
  return bundle;
}

/** A connected device that records every message it receives. */
export interface TestDevice {
  readonly id: string;
  readonly client: MqttClient;
  readonly messages: { topic: string; body: any; properties?: Record<string, unknown> }[];
  end(): Promise<void>;
}

/** Connects a device (no reconnects) and records what it receives. */
export async function connect(platform: LocalPlatform, bundle: DeviceBundle, protocolVersion: 4 | 5 = 4): Promise<TestDevice> {
  const client = await connectBundle(platform.endpoints.mqtt!, bundle, protocolVersion);
  const messages: TestDevice['messages'] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, body: JSON.parse(payload.toString('utf8')), ...(packet.properties && { properties: packet.properties as Record<string, unknown> }) });
  });
  return { id: bundle.manifest.thingName, client, messages, end: () => client.endAsync() };
}

/** A received message. */
export type ReceivedMessage = TestDevice['messages'][number];

/**
 * Publishes a device's answers to a received command: an MQTT 3.1.1 device to the envelope's
 * response topic with its id, an MQTT 5 device to the Response Topic property with the
 * Correlation Data property and no id in the body.
 */
export function answerer(device: TestDevice, command: ReceivedMessage, protocolVersion: 4 | 5): (answer: Record<string, unknown>) => Promise<void> {
  return async (answer) => {
    if (protocolVersion === 5) {
      const properties = command.properties as { responseTopic: string; correlationData: Buffer };
      await device.client.publishAsync(properties.responseTopic, JSON.stringify({ v: 1, ...answer }), { qos: 1, properties: { correlationData: properties.correlationData } });
    } else {
      await device.client.publishAsync(command.body.responseTopic, JSON.stringify({ v: 1, id: command.body.id, ...answer }), { qos: 1 });
    }
  };
}

/** The MQTT 5 properties a command envelope is delivered with. */
export function mqtt5Properties(envelope: { responseTopic: string; id: string }): Record<string, unknown> {
  return { responseTopic: envelope.responseTopic, correlationData: Buffer.from(envelope.id, 'utf8'), contentType: 'application/json' };
}

/** Polls `probe` until it returns a value (eventual consistency; never a fixed sleep). */
export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
