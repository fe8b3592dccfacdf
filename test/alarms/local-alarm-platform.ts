/**
 * The local platform as the alarm end-to-end tests use it: started in a temp directory with a
 * fast sweep, an admin GraphQL caller, and real MQTT.js devices over mutual TLS that publish
 * telemetry and can wait until a reading went through ingest and its alarm transitions through
 * the Alarms stream.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { LocalTokenIssuer } from '../../src/local/appsync/local-token-issuer.js';
import { openLocalCa } from '../../src/local/iot-core/ca.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local/platform.js';
import { provisionLocalDevice } from '../../src/provisioning/local-provisioner.js';
import { connectBundle } from '../local/iot-core/mqtt-device.js';
import { waitFor } from '../support/wait-for.js';

export { waitFor };

/** A GraphQL answer. */
export interface GraphqlBody {
  data?: any;
  errors?: { errorType: string; message: string }[];
}

/** A provisioned, connected device. */
export interface TestDevice {
  readonly id: string;
  readonly client: MqttClient;
  readonly topics: { readonly telemetry: string; readonly commands: string };
  /** Publishes one v1 telemetry message (QoS 1) with the next seq, or the seq given. */
  send(ts: number, metrics: Record<string, number>, seq?: number): Promise<void>;
  /** Waits until the batch holding a reading at `ts` went through ingest and its transitions through the Alarms stream. */
  settled(ts: number): Promise<void>;
}

/** The platform of one test file. */
export interface AlarmTestPlatform {
  readonly platform: LocalPlatform;
  readonly dataDir: string;
  readonly admin: string;
  gql(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphqlBody>;
  /** The answer's data; throws on errors. */
  ok(query: string, variables?: Record<string, unknown>): Promise<any>;
  device(name: string, type: string): Promise<TestDevice>;
  stop(): Promise<void>;
}

const LAST_SEEN = `query G($id: ID!) { device(id: $id) { lastSeen } }`;

/** Starts the local platform for alarm tests (1 s ingest batches, a sweep every 300 ms). */
export async function startAlarmTestPlatform(prefix: string): Promise<AlarmTestPlatform> {
  process.env.INGEST_BATCH_WINDOW_SECONDS = '1';
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 }, alarmSweepMs: 300 });
  const admin = await (await LocalTokenIssuer.fromDataDir(dataDir)).issue({ user: 'ops', groups: ['admin'] });
  const clients: MqttClient[] = [];
  const gql = async (query: string, variables: Record<string, unknown> = {}, token = admin): Promise<GraphqlBody> => {
    const response = await fetch(platform.endpoints.graphql!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GraphqlBody;
  };
  const ok = async (query: string, variables: Record<string, unknown> = {}) => {
    const body = await gql(query, variables);
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const mqttUrl = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:'));
  const ca = await openLocalCa(dataDir);
  const device = async (name: string, type: string): Promise<TestDevice> => {
    const { bundle } = await provisionLocalDevice(
      { registry: platform.registry, credentials: platform.credentials, ca, endpoint: { host: mqttUrl.hostname, port: Number(mqttUrl.port) } },
      { name, type },
    );
    const mqttClient = await connectBundle(platform.endpoints.mqtt!, bundle);
    clients.push(mqttClient);
    const id = bundle.manifest.thingName;
    let next = 0;
    return {
      id,
      client: mqttClient,
      topics: { telemetry: bundle.manifest.topics.telemetry, commands: bundle.manifest.topics.commands },
      async send(ts, metrics, seq) {
        next = seq ?? next + 1;
        await mqttClient.publishAsync(bundle.manifest.topics.telemetry, JSON.stringify({ v: 1, ts, seq: next, metrics }), { qos: 1 });
      },
      async settled(ts) {
        await waitFor(async () => ((await ok(LAST_SEEN, { id })).device.lastSeen === new Date(ts).toISOString() ? true : undefined), `lastSeen ${ts}`);
        await platform.flushIngest();
        await platform.alarms.flush();
      },
    };
  };
  return {
    platform,
    dataDir,
    admin,
    gql,
    ok,
    device,
    async stop() {
      for (const client of clients) await client.endAsync();
      await platform.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
