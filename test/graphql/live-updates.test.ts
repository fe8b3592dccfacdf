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
import type { DeviceChange } from '../../src/domain/device-change.js';
import type { WatchCommandsResponse__Output } from '../../src/generated/proto/iot/device/v1/WatchCommandsResponse.js';
import type { WatchDevicesResponse__Output } from '../../src/generated/proto/iot/device/v1/WatchDevicesResponse.js';
import { answerer, connect, provisionDevice, waitFor as waitForValue, type TestDevice as ControlledDevice } from '../commands/local-devices.js';
import { newClient, watchChanges } from '../grpc/helpers.js';
import { connectDevice } from '../local/iot-core/mqtt-device.js';

const DEVICE_UPDATED = `subscription S($id: ID) { deviceUpdated(id: $id) {
  id changeType sequence device { id name status lastSeen readings { metric numberValue } } } }`;
const TELEMETRY_UPDATED = 'subscription { telemetryUpdated { items { id sequence lastSeen readings } } }';
const COMMAND_UPDATED = `subscription C($deviceId: ID) { commandUpdated(deviceId: $deviceId) {
  id deviceId status previousStatus sequence command { name } } }`;
const TWIN_UPDATED = `subscription T($id: ID) { deviceUpdated(id: $id) { id changeType sequence device { id name twinVersion } } }`;
const SEND_COMMAND = 'mutation S($input: SendCommandInput!) { sendCommand(input: $input) { id status } }';
const UPDATE_DESIRED = 'mutation D($deviceId: ID!, $patch: AWSJSON!) { updateDesiredState(deviceId: $deviceId, patch: $patch) { version } }';

interface Change {
  id: string;
  changeType: string;
  sequence: string;
  device: { id: string; name: string; status: string; lastSeen: string | null; readings: { metric: string; numberValue: number }[] };
}
interface CommandUpdate {
  id: string;
  deviceId: string;
  status: string;
  previousStatus: string | null;
  sequence: string;
  command: { name: string };
}
interface TwinChange {
  id: string;
  changeType: string;
  sequence: string;
  device: { id: string; name: string; twinVersion: number | null };
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
  let adminToken: string;
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

  /** A GraphQL request over HTTP as the operator (admin), as a client app sends it. */
  async function asOperator<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const response = await fetch(platform.endpoints.graphql!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: adminToken },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: unknown };
    if (!body.data || body.errors) throw new Error(`GraphQL refused: ${JSON.stringify(body.errors)}`);
    return body.data;
  }

  /** A provisioned MQTT.js device, online and subscribed to its command and twin-delta topics. */
  async function controlledDevice(name: string): Promise<ControlledDevice & { topics: { state: string; delta: string } }> {
    const bundle = await provisionDevice(platform, dataDir, name);
    const device = await connect(platform, bundle);
    await device.client.subscribeAsync([bundle.manifest.topics.commands, bundle.manifest.topics.delta], { qos: 1 });
    await waitForValue(async () => (await platform.registry.get(device.id)).status === 'ONLINE', 'ONLINE');
    return Object.assign(device, { topics: { state: bundle.manifest.topics.state, delta: bundle.manifest.topics.delta } });
  }

  /**
   * Every watcher of one device's command and twin changes: commandUpdated(deviceId) and
   * deviceUpdated(id) over graphql-ws, WatchCommands and WatchDevices over gRPC. None of them
   * confirms a subscription, so a probe command and a probe rename are repeated until each
   * watcher has seen one.
   */
  async function controlWatchers(deviceId: string) {
    const commands = subscribe<CommandUpdate>(COMMAND_UPDATED, { deviceId }, 'commandUpdated');
    const twins = subscribe<TwinChange>(TWIN_UPDATED, { id: deviceId }, 'deviceUpdated');
    const grpc = newClient(platform.endpoints.grpc!, { caPem: platform.caCertificatePem, as: { token: grpcToken } });
    const grpcCommands: WatchCommandsResponse__Output[] = [];
    const commandStream = grpc.WatchCommands({ deviceIds: [deviceId] });
    commandStream.on('data', (m: WatchCommandsResponse__Output) => grpcCommands.push(m));
    commandStream.on('error', () => undefined);
    const grpcDevices = watchChanges(grpc, [deviceId]);
    const probes = new Set<string>();
    const commandsLive = () => commands.received.some((u) => probes.has(u.id)) && grpcCommands.some((m) => probes.has(m.command?.id ?? ''));
    for (let n = 0; !commandsLive(); n++) {
      if (n > 100) throw new Error('command watchers never became live');
      probes.add((await platform.commands.send({ deviceId, name: `probe-${n}` }, 'test')).id);
      await waitFor(commandsLive, 'a probe command', 500).catch(() => undefined);
    }
    const renamed = (n: number) => twins.received.some((c) => c.device.name === `probe-${n}`) && grpcDevices.seen.some((m) => m.device?.name === `probe-${n}`);
    for (let n = 0; !renamed(n - 1); n++) {
      if (n > 100) throw new Error('device watchers never became live');
      await platform.registry.update({ id: deviceId, name: `probe-${n}` });
      await waitFor(() => renamed(n), 'a probe rename', 500).catch(() => undefined);
    }
    return {
      commands,
      twins,
      grpcCommands,
      grpcDevices: grpcDevices.seen,
      /** A last command and a last rename: once every watcher has them, no duplicate of anything before is still in flight. */
      async sentinel(): Promise<void> {
        await platform.changeFeed.flush();
        const last = await platform.commands.send({ deviceId, name: 'sentinel' }, 'test');
        await platform.registry.update({ id: deviceId, name: 'sentinel' });
        await waitFor(
          () =>
            commands.received.some((u) => u.id === last.id) &&
            grpcCommands.some((m) => m.command?.id === last.id) &&
            twins.received.some((c) => c.device.name === 'sentinel') &&
            grpcDevices.seen.some((m) => m.device?.name === 'sentinel'),
          'the sentinels',
        );
      },
      close(): void {
        commands.stop();
        twins.stop();
        commandStream.cancel();
        grpcDevices.stream.cancel();
        grpc.close();
      },
    };
  }

  /** Sends a command through GraphQL and takes it, as the device, through IN_PROGRESS to SUCCEEDED. */
  async function runCommand(device: ControlledDevice, name: string, watchers: Awaited<ReturnType<typeof controlWatchers>>): Promise<string> {
    const { sendCommand } = await asOperator<{ sendCommand: { id: string } }>(SEND_COMMAND, { input: { deviceId: device.id, name, payload: JSON.stringify({ mode: 'eco' }) } });
    const delivered = await waitForValue(() => device.messages.find((m) => m.body.id === sendCommand.id), 'the command at the device');
    const answer = answerer(device, delivered, 4);
    await answer({ status: 'IN_PROGRESS' });
    // Answers are processed concurrently and only move forward: the final one waits for IN_PROGRESS to be stored.
    await waitFor(() => watchers.commands.received.some((u) => u.id === sendCommand.id && u.status === 'IN_PROGRESS'), 'IN_PROGRESS');
    await answer({ status: 'SUCCEEDED', result: { mode: 'eco' } });
    await waitFor(
      () =>
        watchers.commands.received.some((u) => u.id === sendCommand.id && u.status === 'SUCCEEDED') &&
        watchers.grpcCommands.some((m) => m.command?.id === sendCommand.id && m.command.status === 'COMMAND_STATUS_SUCCEEDED'),
      'SUCCEEDED at every command watcher',
    );
    return sendCommand.id;
  }

  /** Patches desired state through GraphQL; the device reports it back once the delta reached it. Twin version 1, then 2. */
  async function runTwin(device: ControlledDevice & { topics: { state: string; delta: string } }, watchers: Awaited<ReturnType<typeof controlWatchers>>): Promise<void> {
    await asOperator(UPDATE_DESIRED, { deviceId: device.id, patch: JSON.stringify({ mode: 'eco' }) });
    await waitForValue(() => device.messages.find((m) => m.topic === device.topics.delta && m.body.version === 1), 'the delta at the device');
    await device.client.publishAsync(device.topics.state, JSON.stringify({ v: 1, reported: { mode: 'eco' } }), { qos: 1 });
    await waitFor(
      () => watchers.twins.received.some((c) => c.device.twinVersion === 2) && watchers.grpcDevices.some((m) => m.device?.twinVersion === '2'),
      'the reported state at every device watcher',
    );
  }

  beforeAll(async () => {
    process.env.INGEST_BATCH_WINDOW_SECONDS = '1';
    dataDir = mkdtempSync(join(tmpdir(), 'live-updates-'));
    platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
    const issuer = await LocalTokenIssuer.fromDataDir(dataDir);
    const token = await issuer.issue({ user: 'viewer', groups: ['viewer'] });
    grpcToken = await issuer.issue({ user: 'viewer', groups: ['viewer'], tokenUse: 'access' });
    adminToken = await issuer.issue({ user: 'operator', groups: ['admin'] });
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

  it('delivers command transitions and twin changes once each, in order, with increasing sequences, to GraphQL and gRPC watchers', async () => {
    // Prepare
    const device = await controlledDevice('controlled');
    const watchers = await controlWatchers(device.id);
    const twinsBefore = watchers.twins.received.length;
    const grpcDevicesBefore = watchers.grpcDevices.length;

    // Act: a command created, taken IN_PROGRESS and SUCCEEDED by the device; desired state patched, then reported.
    const id = await runCommand(device, 'set-mode', watchers);
    await runTwin(device, watchers);
    await watchers.sentinel();

    // Assess
    expect(watchers.commands.errors).toEqual([]);
    expect(watchers.twins.errors).toEqual([]);
    const increasing = (sequences: string[]) => sequences.every((s, i) => s.length === 48 && (i === 0 || s > sequences[i - 1]!));
    const graphqlCommand = watchers.commands.received.filter((u) => u.id === id);
    expect(graphqlCommand.map((u) => [u.previousStatus, u.status])).toEqual([
      [null, 'CREATED'],
      ['CREATED', 'IN_PROGRESS'],
      ['IN_PROGRESS', 'SUCCEEDED'],
    ]);
    expect(increasing(graphqlCommand.map((u) => u.sequence))).toBe(true);
    const grpcCommand = watchers.grpcCommands.filter((m) => m.command?.id === id);
    expect(grpcCommand.map((m) => [m.previousStatus, m.command?.status])).toEqual([
      ['COMMAND_STATUS_UNSPECIFIED', 'COMMAND_STATUS_CREATED'],
      ['COMMAND_STATUS_CREATED', 'COMMAND_STATUS_IN_PROGRESS'],
      ['COMMAND_STATUS_IN_PROGRESS', 'COMMAND_STATUS_SUCCEEDED'],
    ]);
    // Both doors relay the same stream records: the same sequences.
    expect(grpcCommand.map((m) => m.sequence)).toEqual(graphqlCommand.map((u) => u.sequence));
    // Twin: every change of the device arrives once, in order; the twin version moves 1 (desired) then 2 (reported), once each.
    const twinChanges = watchers.twins.received.slice(twinsBefore);
    expect(increasing(twinChanges.map((c) => c.sequence))).toBe(true);
    const twinMoves = twinChanges.filter((c, i) => c.device.twinVersion !== (i === 0 ? null : twinChanges[i - 1]!.device.twinVersion));
    expect(twinMoves.map((c) => c.device.twinVersion)).toEqual([1, 2]);
    const grpcChanges = watchers.grpcDevices.slice(grpcDevicesBefore);
    expect(increasing(grpcChanges.map((m) => m.sequence))).toBe(true);
    const grpcMoves = grpcChanges.filter((m, i) => m.device?.twinVersion !== (i === 0 ? '0' : grpcChanges[i - 1]!.device?.twinVersion));
    expect(grpcMoves.map((m) => m.device?.twinVersion)).toEqual(['1', '2']);
    expect(grpcMoves.map((m) => m.sequence)).toEqual(twinMoves.map((c) => c.sequence));
    watchers.close();
    await device.end();
  });

  it('redelivers a failed command transition and twin change with the same sequence: a GraphQL client drops the copy by sequence, a gRPC stream gets it once', async () => {
    // Prepare: publishers that fail once on the IN_PROGRESS of the command named "flaky" and on
    // the twin change to version 1 of the device, so both stream records are delivered again.
    const device = await controlledDevice('redelivered');
    const failed = { command: false, twin: false };
    platform.changeFeed.addCommandPublisher({
      publish: async (change) => {
        if (change.command.name === 'flaky' && change.command.status === 'IN_PROGRESS' && !failed.command) {
          failed.command = true;
          throw new Error('command publisher down once');
        }
      },
    });
    platform.changeFeed.addPublisher({
      publish: async (change: DeviceChange) => {
        if (change.device.id === device.id && change.device.twinVersion === 1 && change.previous?.twinVersion === undefined && !failed.twin) {
          failed.twin = true;
          throw new Error('device publisher down once');
        }
      },
    });
    const watchers = await controlWatchers(device.id);

    // Act
    const id = await runCommand(device, 'flaky', watchers);
    await runTwin(device, watchers);
    await waitFor(() => watchers.commands.received.filter((u) => u.id === id && u.status === 'IN_PROGRESS').length >= 2, 'the redelivered IN_PROGRESS');
    await waitFor(() => watchers.twins.received.filter((c) => c.device.twinVersion === 1).length >= 2, 'the redelivered twin change');
    await watchers.sentinel();

    // Assess
    expect(failed).toEqual({ command: true, twin: true });
    const inProgress = watchers.commands.received.filter((u) => u.id === id && u.status === 'IN_PROGRESS');
    expect(inProgress).toHaveLength(2);
    expect(inProgress[0]!.sequence).toBe(inProgress[1]!.sequence);
    const applied = dedupeBySequence(watchers.commands.received, (u) => [u.id, u.sequence]).filter((u) => u.id === id);
    expect(applied.map((u) => u.status)).toEqual(['CREATED', 'IN_PROGRESS', 'SUCCEEDED']);
    expect(watchers.grpcCommands.filter((m) => m.command?.id === id).map((m) => m.command?.status)).toEqual([
      'COMMAND_STATUS_CREATED',
      'COMMAND_STATUS_IN_PROGRESS',
      'COMMAND_STATUS_SUCCEEDED',
    ]);
    const twinOne = watchers.twins.received.filter((c) => c.device.twinVersion === 1);
    expect(twinOne).toHaveLength(2);
    expect(twinOne[0]!.sequence).toBe(twinOne[1]!.sequence);
    const appliedTwin = dedupeBySequence(watchers.twins.received, (c) => [c.id, c.sequence]);
    expect(appliedTwin.filter((c) => c.device.twinVersion === 1)).toHaveLength(1);
    expect(appliedTwin.filter((c) => c.device.twinVersion === 2).length).toBeGreaterThanOrEqual(1);
    expect(watchers.grpcDevices.filter((m) => m.device?.twinVersion === '1')).toHaveLength(1);
    watchers.close();
    await device.end();
  });
});
