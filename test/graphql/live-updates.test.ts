import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LocalTokenIssuer } from '../../src/local/appsync/local-token-issuer.js';
import { openLocalCa } from '../../src/local/iot-core/ca.js';
import { startLocalPlatform, type LocalPlatform } from '../../src/local/platform.js';
import { provisionLocalDevice } from '../../src/provisioning/local-provisioner.js';
import type { WatchDevicesResponse__Output } from '../../src/generated/proto/iot/device/v1/WatchDevicesResponse.js';
import { newClient, watchChanges } from '../grpc/helpers.js';
import { connectDevice } from '../local/iot-core/mqtt-device.js';

const DEVICE_UPDATED = `subscription S($id: ID) { deviceUpdated(id: $id) {
  id changeType sequence device { id name status lastSeen readings { metric numberValue } } } }`;
const TELEMETRY_UPDATED = 'subscription { telemetryUpdated { items { id sequence lastSeen readings } } }';

interface Change {
  id: string;
  changeType: string;
  sequence: string;
  device: { id: string; name: string; status: string; lastSeen: string | null; readings: { metric: string; numberValue: number }[] };
}
interface Batch {
  items: { id: string; sequence: string; lastSeen: string | null; readings: string }[];
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** What a client does with at-least-once delivery: apply a change only if its sequence is above the last applied one of its device. */
function dedupeBySequence<T>(items: readonly T[], key: (item: T) => [string, string]): T[] {
  const last = new Map<string, string>();
  return items.filter((item) => {
    const [id, sequence] = key(item);
    const seen = last.get(id);
    if (seen !== undefined && seen >= sequence) return false;
    last.set(id, sequence);
    return true;
  });
}

describe('live updates at batch cost, on the local platform', () => {
  let dataDir: string;
  let platform: LocalPlatform;
  let client: Client;
  let grpcToken: string;
  interface TestDevice {
    id: string;
    topic: string;
    credentials: { cert: string; key: string; ca: string };
    mqtt?: MqttClient;
  }
  const devices: TestDevice[] = [];

  function subscribe<T>(query: string, variables: Record<string, unknown>, field: string) {
    const received: T[] = [];
    const errors: unknown[] = [];
    const stop = client.subscribe<Record<string, T>>(
      { query, variables },
      { next: (m) => (m.data ? received.push(m.data[field]!) : errors.push(m.errors)), error: (e) => errors.push(e), complete: () => {} },
    );
    return { received, errors, stop };
  }

  beforeAll(async () => {
    process.env.INGEST_BATCH_WINDOW_SECONDS = '1';
    dataDir = mkdtempSync(join(tmpdir(), 'live-updates-'));
    platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
    const issuer = await LocalTokenIssuer.fromDataDir(dataDir);
    const token = await issuer.issue({ user: 'viewer', groups: ['viewer'] });
    grpcToken = await issuer.issue({ user: 'viewer', groups: ['viewer'], tokenUse: 'access' });
    client = createClient({ url: platform.endpoints.graphql!.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { Authorization: token }, retryAttempts: 0 });
    const mqttUrl = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:'));
    const ca = await openLocalCa(dataDir);
    for (const name of ['watched', 'neighbour']) {
      const { bundle } = await provisionLocalDevice(
        { registry: platform.registry, credentials: platform.credentials, ca, endpoint: { host: mqttUrl.hostname, port: Number(mqttUrl.port) } },
        { name, type: 'live-test' },
      );
      devices.push({
        id: bundle.manifest.thingName,
        topic: bundle.manifest.topics.telemetry,
        credentials: { cert: bundle.certificatePem, key: bundle.privateKeyPem, ca: bundle.caCertificatePem },
      });
    }
    await platform.changeFeed.flush();
  });

  afterAll(async () => {
    for (const d of devices) await d.mqtt?.endAsync();
    await client?.dispose();
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    delete process.env.INGEST_BATCH_WINDOW_SECONDS;
  });

  it('gives a single-device subscriber its presence, registry and telemetry changes once each in order and nothing of another device, and an all-devices subscriber telemetry in batches', async () => {
    // Prepare
    const [watched, neighbour] = devices as [TestDevice, TestDevice];
    const single = subscribe<Change>(DEVICE_UPDATED, { id: watched.id }, 'deviceUpdated');
    const all = subscribe<Change>(DEVICE_UPDATED, {}, 'deviceUpdated');
    const batches = subscribe<Batch>(TELEMETRY_UPDATED, {}, 'telemetryUpdated');
    const grpc = newClient(platform.endpoints.grpc!, { caPem: platform.caCertificatePem, as: { token: grpcToken } });
    const stream = watchChanges(grpc, [watched.id]);
    // Neither graphql-ws nor WatchDevices confirms a subscription: change the device until every watcher sees it.
    const probed = (n: number) =>
      [single.received, all.received].every((r) => r.some((c) => c.device.name === `probe-${n}`)) && stream.seen.some((m) => m.device?.name === `probe-${n}`);
    for (let n = 0; !probed(n - 1); n++) {
      if (n > 100) throw new Error('subscriptions never became live');
      await platform.registry.update({ id: watched.id, name: `probe-${n}` });
      await platform.changeFeed.flush();
      await waitFor(() => probed(n), 'a probe', 500).catch(() => undefined);
    }
    const startedAt = single.received.length;

    // Act: both devices come online and send telemetry; the watched one also gets renamed twice.
    for (const d of devices) {
      const outcome = await connectDevice(platform.endpoints.mqtt!, d.id, d.credentials);
      if (!outcome.ok) throw new Error(`connect failed: ${outcome.error}`);
      d.mqtt = outcome.client;
    }
    await waitFor(() => single.received.some((c) => c.device.status === 'ONLINE'), 'ONLINE');
    const base = Date.now() - 60_000;
    for (let seq = 1; seq <= 4; seq++) {
      for (const [i, d] of devices.entries()) {
        await d.mqtt!.publishAsync(d.topic, JSON.stringify({ v: 1, ts: base + seq * 1000, seq, metrics: { temperature: i * 100 + seq } }), { qos: 1 });
      }
    }
    await platform.registry.update({ id: watched.id, name: 'first' });
    await platform.registry.update({ id: watched.id, name: 'second' });
    const last = new Date(base + 4000).toISOString();
    await waitFor(() => single.received.some((c) => c.device.lastSeen === last), 'the watched device\'s last reading');
    const seenLast = (id: string) => batches.received.some((b) => b.items.some((i) => i.id === id && i.lastSeen === last));
    await waitFor(() => seenLast(watched.id) && seenLast(neighbour.id), 'both devices\' last readings in a batch');
    // A last change after everything else: once it arrives, any duplicate would have arrived before it.
    await platform.changeFeed.flush();
    await platform.registry.update({ id: watched.id, name: 'sentinel' });
    await waitFor(() => [single.received, all.received].every((r) => r.some((c) => c.device.name === 'sentinel')) && stream.seen.some((m) => m.device?.name === 'sentinel'), 'the sentinel');

    // Assess
    expect(single.errors).toEqual([]);
    expect(batches.errors).toEqual([]);
    // Nothing of the neighbour ever reached the single-device subscriber (nor its gRPC twin).
    expect(single.received.every((c) => c.id === watched.id && c.device.id === watched.id)).toBe(true);
    expect(JSON.stringify(single.received)).not.toContain(neighbour.id);
    expect(stream.seen.every((m: WatchDevicesResponse__Output) => m.device?.id === watched.id)).toBe(true);
    // Sequences increase, each exactly once.
    const mine = single.received.slice(startedAt);
    const sequences = mine.map((c) => c.sequence);
    expect([...sequences].sort()).toEqual(sequences);
    expect(new Set(sequences).size).toBe(sequences.length);
    expect(mine.filter((c, i) => c.device.status === 'ONLINE' && mine[i - 1]?.device.status !== 'ONLINE')).toHaveLength(1);
    expect(mine.filter((c) => c.device.name === 'first')[0]!.sequence < mine.filter((c) => c.device.name === 'second')[0]!.sequence).toBe(true);
    const renames = mine.filter((c, i) => c.device.name !== (mine[i - 1] ?? single.received[startedAt - 1])?.device.name);
    expect(renames.map((c) => c.device.name)).toEqual(['first', 'second', 'sentinel']);
    expect(mine.find((c) => c.device.lastSeen === last)!.device.readings).toEqual([{ metric: 'temperature', numberValue: 4 }]);
    // The all-devices subscriber: presence and registry changes one by one, once each; telemetry in batches, at most one per device per batch.
    const allMine = all.received.filter((c) => c.id === watched.id || c.id === neighbour.id);
    expect(allMine.filter((c) => c.id === neighbour.id)).toMatchObject([{ changeType: 'UPDATED', device: { status: 'ONLINE', readings: [] } }]);
    // A telemetry change of the watched device between the two renames also carries the name 'first': count the rename, not every change with that name.
    const allWatched = allMine.filter((c) => c.id === watched.id);
    expect(allWatched.filter((c, i) => c.device.name === 'first' && allWatched[i - 1]?.device.name !== 'first')).toHaveLength(1);
    const firstSequences = allWatched.filter((c) => c.device.name === 'first').map((c) => c.sequence);
    expect(new Set(firstSequences).size).toBe(firstSequences.length);
    for (const batch of batches.received) expect(new Set(batch.items.map((i) => i.id)).size).toBe(batch.items.length);
    const neighbourLast = batches.received.flatMap((b) => b.items).find((i) => i.id === neighbour.id && i.lastSeen === last)!;
    expect(JSON.parse(neighbourLast.readings)).toEqual({ temperature: 104 });
    // gRPC: the same changes, with their sequences, in order.
    const grpcSequences = stream.seen.map((m) => m.sequence);
    expect(grpcSequences.every((s) => s.length === 48)).toBe(true);
    expect([...grpcSequences].sort()).toEqual(grpcSequences);
    expect(new Set(grpcSequences).size).toBe(grpcSequences.length);
    for (const s of [single, all, batches]) s.stop();
    stream.stream.cancel();
    grpc.close();
  });

  it('delivers a redelivered change twice with the same sequence to GraphQL, where the client drops it by sequence, and once to a gRPC watcher', async () => {
    // Prepare: a publisher that fails once on the change named "flaky", so the stream record is redelivered and published again.
    const [watched] = devices as [TestDevice];
    let failed = false;
    platform.changeFeed.addPublisher({
      publish: async (change) => {
        if (change.device.name === 'flaky' && !failed) {
          failed = true;
          throw new Error('publisher down once');
        }
      },
    });
    const single = subscribe<Change>(DEVICE_UPDATED, { id: watched.id }, 'deviceUpdated');
    for (let n = 0; !single.received.some((c) => c.device.name === `again-${n - 1}`); n++) {
      if (n > 100) throw new Error('subscription never became live');
      await platform.registry.update({ id: watched.id, name: `again-${n}` });
      await waitFor(() => single.received.some((c) => c.device.name === `again-${n}`), 'a probe', 500).catch(() => undefined);
    }
    const grpc = newClient(platform.endpoints.grpc!, { caPem: platform.caCertificatePem, as: { token: grpcToken } });
    const stream = watchChanges(grpc, [watched.id]);
    for (let n = 0; !stream.seen.some((m) => m.device?.name === `grpc-probe-${n - 1}`); n++) {
      if (n > 100) throw new Error('WatchDevices never became live');
      await platform.registry.update({ id: watched.id, name: `grpc-probe-${n}` });
      await waitFor(() => stream.seen.some((m) => m.device?.name === `grpc-probe-${n}`), 'a probe', 500).catch(() => undefined);
    }

    // Act
    await platform.registry.update({ id: watched.id, name: 'flaky' });
    await platform.registry.update({ id: watched.id, name: 'after' });
    await waitFor(() => single.received.some((c) => c.device.name === 'after') && stream.seen.some((m) => m.device?.name === 'after'), 'the change after the flaky one');
    await platform.changeFeed.flush();
    await waitFor(() => single.received.filter((c) => c.device.name === 'flaky').length >= 2, 'the redelivery');

    // Assess
    const flaky = single.received.filter((c) => c.device.name === 'flaky');
    expect(failed).toBe(true);
    expect(flaky).toHaveLength(2);
    expect(flaky[0]!.sequence).toBe(flaky[1]!.sequence);
    const applied = dedupeBySequence(single.received, (c) => [c.id, c.sequence]);
    expect(applied.filter((c) => c.device.name === 'flaky')).toHaveLength(1);
    expect(applied.map((c) => c.device.name).slice(-2)).toEqual(['flaky', 'after']);
    expect(stream.seen.filter((m) => m.device?.name === 'flaky')).toHaveLength(1);
    single.stop();
    stream.stream.cancel();
    grpc.close();
  });
});
