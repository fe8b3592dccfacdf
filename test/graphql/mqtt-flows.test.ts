import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LocalTokenIssuer } from '../../src/local/appsync/local-token-issuer.js';
import { openLocalCa } from '../../src/local/iot-core/ca.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local/platform.js';
import { provisionLocalDevice } from '../../src/provisioning/local-provisioner.js';
import { connectBundle, bundleCredentials, connectDevice } from '../local/iot-core/mqtt-device.js';
import { STATS } from './helpers.js';
import { waitFor } from '../support/wait-for.js';

const SUBSCRIBE = `subscription S($id: ID) { deviceUpdated(id: $id) {
  id changeType device { id name status version updatedAt lastSeen readings { metric numberValue } } } }`;
const TELEMETRY = `query T($deviceId: ID!, $from: AWSDateTime!, $to: AWSDateTime!, $limit: Int, $nextToken: String) {
  telemetry(deviceId: $deviceId, metric: "temperature", from: $from, to: $to, limit: $limit, nextToken: $nextToken) {
    items { timestamp numberValue } nextToken } }`;

interface Change {
  id: string;
  changeType: string;
  device: { name: string; status: string; version: number; updatedAt: string; lastSeen: string | null; readings: { metric: string; numberValue: number }[] };
}

describe('GraphQL over MQTT-driven changes', () => {
  let dataDir: string;
  let platform: LocalPlatform;
  let admin: string;
  let client: Client;

  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(platform.endpoints.graphql!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: admin },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: any; errors?: { errorType: string; message: string }[] };
  };

  beforeAll(async () => {
    // The local Kinesis stand-in batches like the deployed event source (60 s window by default).
    process.env.INGEST_BATCH_WINDOW_SECONDS = '1';
    dataDir = mkdtempSync(join(tmpdir(), 'graphql-mqtt-'));
    platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
    // A platform with a data directory verifies tokens with the key `iotctl token` uses.
    admin = await (await LocalTokenIssuer.fromDataDir(dataDir)).issue({ user: 'ops', groups: ['admin'] });
    client = createClient({ url: platform.endpoints.graphql!.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { Authorization: admin }, retryAttempts: 0 });
  });

  afterAll(async () => {
    await client?.dispose();
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows a device subscriber its presence changes and the new lastSeen of its telemetry once each, serves the points in order within the range, and keeps stats exact', async () => {
    // Prepare
    const mqttUrl = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:'));
    const ca = await openLocalCa(dataDir);
    const { bundle } = await provisionLocalDevice(
      { registry: platform.registry, credentials: platform.credentials, ca, endpoint: { host: mqttUrl.hostname, port: Number(mqttUrl.port) } },
      { name: 'thermostat', type: 'mqtt-thermostat' },
    );
    const id = bundle.manifest.thingName;
    await platform.changeFeed.flush();
    const before = (await gql(STATS)).data.stats;
    const received: Change[] = [];
    const errors: unknown[] = [];
    const stop = client.subscribe<{ deviceUpdated: Change }>(
      { query: SUBSCRIBE, variables: { id } },
      { next: (m) => (m.data ? received.push(m.data.deviceUpdated) : errors.push(m.errors)), error: (e) => errors.push(e), complete: () => {} },
    );
    // graphql-ws does not confirm a subscription: change the device until the subscriber sees it.
    for (let n = 0; !received.some((c) => c.device.name.startsWith('probe-')); n++) {
      if (n > 100) throw new Error('subscription never became live');
      await platform.registry.update({ id, name: `probe-${n}` });
      await platform.changeFeed.flush();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    received.length = 0;

    // Act
    const device = await connectBundle(platform.endpoints.mqtt!, bundle);
    await waitFor(() => (received.some((c) => c.device.status === 'ONLINE') ? true : undefined), 'ONLINE');
    const base = Math.floor(Date.now() / 1000) * 1000 - 30_000;
    const offsets = [4, 1, 3, 0, 2]; // published out of time order
    for (const [seq, offset] of offsets.entries()) {
      const message = { v: 1, ts: base + offset * 1000, seq: seq + 1, metrics: { temperature: 20 + offset } };
      await device.publishAsync(bundle.manifest.topics.telemetry, JSON.stringify(message), { qos: 1 });
    }
    const lastSeen = new Date(base + 4000).toISOString();
    await waitFor(() => (received.some((c) => c.device.lastSeen === lastSeen) ? true : undefined), 'the new lastSeen');
    const range = { deviceId: id, from: new Date(base + 1000).toISOString(), to: new Date(base + 4000).toISOString() };
    const page = await waitFor(async () => {
      const result = await gql(TELEMETRY, range);
      return result.data?.telemetry.items.length === 3 ? result : undefined;
    }, 'three telemetry points');
    const paged1 = await gql(TELEMETRY, { ...range, limit: 2 });
    const paged2 = await gql(TELEMETRY, { ...range, limit: 2, nextToken: paged1.data.telemetry.nextToken });
    await device.endAsync();
    await waitFor(() => (received.some((c) => c.device.status === 'OFFLINE') ? true : undefined), 'OFFLINE');
    // Anything delivered twice would arrive before this last change.
    await platform.registry.update({ id, name: 'sentinel' });
    await waitFor(() => (received.some((c) => c.device.name === 'sentinel') ? true : undefined), 'the sentinel');
    await platform.changeFeed.flush();
    const after = (await gql(STATS)).data.stats;
    stop();

    // Assess
    expect(errors).toEqual([]);
    expect(received.every((c) => c.id === id)).toBe(true);
    const states = received.map((c) => JSON.stringify(c.device));
    expect(new Set(states).size).toBe(states.length);
    expect(received.filter((c) => c.device.status === 'ONLINE' && c.device.lastSeen !== lastSeen && c.device.readings.length === 0)).toHaveLength(1);
    expect(received.filter((c) => c.device.lastSeen === lastSeen && c.device.status === 'ONLINE')).toHaveLength(1);
    expect(received.find((c) => c.device.lastSeen === lastSeen)!.device.readings).toEqual([{ metric: 'temperature', numberValue: 24 }]);
    expect(received.filter((c) => c.device.status === 'OFFLINE' && c.device.name !== 'sentinel')).toHaveLength(1);
    expect(page.data.telemetry).toEqual({
      items: [1, 2, 3].map((offset) => ({ timestamp: new Date(base + offset * 1000).toISOString(), numberValue: 20 + offset })),
      nextToken: null,
    });
    expect([...paged1.data.telemetry.items, ...paged2.data.telemetry.items]).toEqual(page.data.telemetry.items);
    expect(paged2.data.telemetry.nextToken).toBeNull();
    expect(after.total - before.total).toBe(0);
    const count = (stats: typeof before, status: string) => stats.byStatus.find((s: { status: string }) => s.status === status).count;
    expect(count(after, 'OFFLINE') - count(before, 'OFFLINE')).toBe(1);
    expect(count(after, 'UNKNOWN') - count(before, 'UNKNOWN')).toBe(-1);
    expect(after.online).toBe(before.online);
  });

  it('keeps stats exact after concurrent writes through GraphQL, the domain core and MQTT devices coming online', async () => {
    // Prepare
    const mqttUrl = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:'));
    const ca = await openLocalCa(dataDir);
    const bundles = await Promise.all(
      [1, 2, 3].map(async (n) =>
        (await provisionLocalDevice({ registry: platform.registry, credentials: platform.credentials, ca, endpoint: { host: mqttUrl.hostname, port: Number(mqttUrl.port) } }, { name: `meter ${n}`, type: 'mqtt-meter' })).bundle,
      ),
    );
    const existing = await Promise.all([1, 2, 3, 4].map((n) => platform.registry.create({ name: `core ${n}`, type: 'core-made' })));
    await platform.changeFeed.flush();

    // Act
    const clients = await Promise.all([
      ...bundles.map((b) => connectDevice(platform.endpoints.mqtt!, b.manifest.thingName, bundleCredentials(b))),
      ...Array.from({ length: 8 }, (_, i) => gql(`mutation { createDevice(input: { name: "gql ${i}", type: "gql-made", status: ${i % 2 ? 'ONLINE' : 'ERROR'} }) { id } }`)),
      ...existing.map((d, i) => (i % 2 ? platform.registry.update({ id: d.id, status: 'MAINTENANCE' }) : platform.registry.delete(d.id))),
    ]).then((results) => results.slice(0, 3) as Awaited<ReturnType<typeof connectDevice>>[]);
    for (const b of bundles) {
      await waitFor(async () => ((await platform.registry.get(b.manifest.thingName)).status === 'ONLINE' ? true : undefined), 'meters online');
    }
    await platform.changeFeed.flush();
    const stats = (await gql(STATS)).data.stats;
    const everyDevice: { status: string; type: string }[] = [];
    let nextToken: string | null = null;
    do {
      const page: { data?: any } = await gql('query L($t: String) { devices(limit: 100, nextToken: $t) { items { status type } nextToken } }', { t: nextToken });
      everyDevice.push(...page.data.devices.items);
      nextToken = page.data.devices.nextToken;
    } while (nextToken);
    for (const outcome of clients) if (outcome.ok) await outcome.client.endAsync();

    // Assess
    const byStatus = Object.fromEntries(stats.byStatus.map((s: { status: string; count: number }) => [s.status, s.count]));
    const countedStatus: Record<string, number> = { UNKNOWN: 0, ONLINE: 0, OFFLINE: 0, ERROR: 0, MAINTENANCE: 0 };
    for (const d of everyDevice) countedStatus[d.status] = countedStatus[d.status]! + 1;
    const countedType: Record<string, number> = {};
    for (const d of everyDevice) countedType[d.type] = (countedType[d.type] ?? 0) + 1;
    expect(stats.total).toBe(everyDevice.length);
    expect(byStatus).toEqual(countedStatus);
    expect(Object.fromEntries(stats.byType.map((t: { type: string; count: number }) => [t.type, t.count]))).toEqual(countedType);
    expect(countedType).toMatchObject({ 'mqtt-meter': 3, 'gql-made': 8, 'core-made': 2 });
    expect(stats.online).toBe(countedStatus.ONLINE);
  });
});
