import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceServiceClient as Client } from '../../src/generated/proto/iot/device/v1/DeviceService.js';
import type { WatchDevicesResponse__Output } from '../../src/generated/proto/iot/device/v1/WatchDevicesResponse.js';
import { LocalTokenIssuer } from '../../src/local/appsync/local-token-issuer.js';
import { openLocalCa } from '../../src/local/iot-core/ca.js';
import { ANY_FREE_PORTS, startLocalPlatform, type LocalPlatform } from '../../src/local/platform.js';
import { provisionLocalDevice } from '../../src/provisioning/local-provisioner.js';
import { connectBundle } from '../local/iot-core/mqtt-device.js';
import { call, newClient, once, waitFor } from './helpers.js';

describe('gRPC in the local platform', () => {
  let platform: LocalPlatform;
  let dataDir: string;
  let client: Client;

  const batchWindow = process.env.INGEST_BATCH_WINDOW_SECONDS;
  beforeAll(async () => {
    // The local Kinesis stand-in batches like the deployed event source (60 s window by default).
    process.env.INGEST_BATCH_WINDOW_SECONDS = '1';
    dataDir = await mkdtemp(join(tmpdir(), 'iot-grpc-'));
    platform = await startLocalPlatform({ dataDir, ports: ANY_FREE_PORTS });
    // What `iotctl token --user ops --group admin` prints for this data directory.
    const token = await (await LocalTokenIssuer.fromDataDir(dataDir)).issue({ user: 'ops', groups: ['admin'], tokenUse: 'access' });
    client = newClient(platform.endpoints.grpc!, { caPem: platform.caCertificatePem, as: { token } });
  });
  afterAll(async () => {
    client?.close();
    await platform?.stop();
    await rm(dataDir, { recursive: true, force: true });
    if (batchWindow === undefined) delete process.env.INGEST_BATCH_WINDOW_SECONDS;
    else process.env.INGEST_BATCH_WINDOW_SECONDS = batchWindow;
  });

  async function watch(deviceIds: string[] = []): Promise<{ stream: grpc.ClientReadableStream<WatchDevicesResponse__Output>; seen: WatchDevicesResponse__Output[] }> {
    const stream = client.watchDevices({ deviceIds });
    const seen: WatchDevicesResponse__Output[] = [];
    stream.on('data', (m: WatchDevicesResponse__Output) => seen.push(m));
    stream.on('error', () => undefined);
    await once(stream, 'metadata');
    return { stream, seen };
  }

  it('serves the registry: a device created through the domain core is read back with GetDevice', async () => {
    // Prepare
    const created = await platform.registry.create({ name: 'core device', type: 'pump' });

    // Act
    const { error, response } = await call(client, 'getDevice', { id: created.id });

    // Assess
    expect(error).toBeNull();
    expect(response).toMatchObject({ id: created.id, name: 'core device', version: '1' });
  });

  it('relays a change made through the domain core to a watcher, via the change feed and the broker bus', async () => {
    // Prepare
    const { stream, seen } = await watch();

    // Act
    const created = await platform.registry.create({ name: 'watched', type: 'pump' });
    await platform.changeFeed.flush();
    await waitFor(() => seen.some((m) => m.device?.id === created.id), 'the CREATED change');

    // Assess
    expect(seen.find((m) => m.device?.id === created.id)).toMatchObject({ changeType: 'CHANGE_TYPE_CREATED', device: { name: 'watched' } });
    stream.cancel();
  });

  it('relays a change made through GraphQL (createDevice mutation) to a watcher', async () => {
    // Prepare
    const token = await (await LocalTokenIssuer.fromDataDir(dataDir)).issue({ user: 'ops', groups: ['admin'] });
    const { stream, seen } = await watch();

    // Act
    const response = await fetch(platform.endpoints.graphql!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token },
      body: JSON.stringify({ query: 'mutation($input: CreateDeviceInput!) { createDevice(input: $input) { id } }', variables: { input: { name: 'from graphql', type: 'valve' } } }),
    });
    const id = ((await response.json()) as { data: { createDevice: { id: string } } }).data.createDevice.id;
    await platform.changeFeed.flush();
    await waitFor(() => seen.some((m) => m.device?.id === id), 'the CREATED change');

    // Assess
    expect(seen.find((m) => m.device?.id === id)).toMatchObject({ changeType: 'CHANGE_TYPE_CREATED', device: { name: 'from graphql', type: 'valve' } });
    stream.cancel();
  });

  it('relays changes made through MQTT (ONLINE from the lifecycle event, then the ingested reading) to a filtered watcher only', async () => {
    // Prepare
    const url = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:'));
    const ca = await openLocalCa(dataDir);
    const { bundle } = await provisionLocalDevice(
      { registry: platform.registry, credentials: platform.credentials, ca, endpoint: { host: url.hostname, port: Number(url.port) } },
      { name: 'grpc thermostat', type: 'thermostat' },
    );
    const id = bundle.manifest.thingName;
    const other = await platform.registry.create({ name: 'not watched', type: 'pump' });
    await platform.changeFeed.flush();
    const { stream, seen } = await watch([id]);

    // Act
    const device = await connectBundle(platform.endpoints.mqtt!, bundle);
    const start = Date.now() - 10_000;
    for (let seq = 1; seq <= 3; seq += 1) {
      const message = { v: 1, ts: start + seq * 100, seq, metrics: { temperature: 21.5 } };
      await device.publishAsync(bundle.manifest.topics.telemetry, JSON.stringify(message), { qos: 1 });
    }
    await platform.registry.update({ id: other.id, name: 'still not watched' });
    await waitFor(
      () => seen.some((m) => m.device?.status === 'DEVICE_STATUS_ONLINE') && seen.some((m) => m.device?.readings?.fields?.temperature),
      'ONLINE and the ingested reading',
      20_000,
    );

    // Assess
    expect(seen.every((m) => m.device?.id === id)).toBe(true);
    expect(seen.find((m) => m.device?.status === 'DEVICE_STATUS_ONLINE')).toMatchObject({ changeType: 'CHANGE_TYPE_UPDATED', device: { name: 'grpc thermostat' } });
    const withReading = seen.find((m) => m.device?.readings?.fields?.temperature)!;
    expect(withReading.device!.readings!.fields!.temperature).toMatchObject({ numberValue: 21.5 });
    expect(withReading.device!.lastSeen).not.toBeNull();
    stream.cancel();
    await device.endAsync();
  });
});
