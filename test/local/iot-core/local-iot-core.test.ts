import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device } from '../../../src/domain/device.js';
import { DynamoDbTelemetryStore } from '../../../src/adapters/telemetry/dynamodb-telemetry-store.js';
import { openLocalCa } from '../../../src/local/iot-core/ca.js';
import { ANY_FREE_PORTS, startLocalPlatform, type LocalPlatform } from '../../../src/local/platform.js';
import { provisionLocalDevice, revokeLocalDevice } from '../../../src/provisioning/local-provisioner.js';
import { call, newClient } from '../../grpc/helpers.js';
import { LocalTokenIssuer } from '../../../src/local/appsync/local-token-issuer.js';
import type { DeviceBundle } from '../../../src/provisioning/device-bundle.js';
import { closed, bundleCredentials, connectDevice } from './mqtt-device.js';

// Deliver each ingest batch at once instead of after the local 1 s window.
process.env.INGEST_BATCH_WINDOW_SECONDS = '0';

describe('local IoT Core on the local platform', () => {
  let dataDir: string;
  let platform: LocalPlatform;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'iot-e2e-'));
    platform = await startLocalPlatform({ dataDir, ports: ANY_FREE_PORTS });
  });
  afterAll(async () => {
    await platform?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function provision(name: string): Promise<DeviceBundle> {
    const url = new URL(platform.endpoints.mqtt!.replace('mqtts:', 'http:'));
    const ca = await openLocalCa(dataDir);
    const { bundle } = await provisionLocalDevice(
      { registry: platform.registry, credentials: platform.credentials, ca, endpoint: { host: url.hostname, port: Number(url.port) } },
      { name, type: 'thermostat' },
    );
    return bundle;
  }

  const connect = (bundle: DeviceBundle) => connectDevice(platform.endpoints.mqtt!, bundle.manifest.thingName, bundleCredentials(bundle));

  async function eventually(id: string, check: (device: Device) => boolean): Promise<Device> {
    let device = await platform.registry.get(id);
    for (let i = 0; i < 300 && !check(device); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      device = await platform.registry.get(id);
    }
    return device;
  }

  it('a provisioned device connects and publishes: ONLINE, lastSeen, latest readings and every reading stored; a disconnect turns it OFFLINE', async () => {
    // Prepare
    const bundle = await provision('boiler room');
    const id = bundle.manifest.thingName;
    const outcome = await connect(bundle);
    if (!outcome.ok) throw new Error(`connect failed: ${outcome.error}`);
    const start = Date.now() - 10_000;

    // Act
    for (let seq = 1; seq <= 20; seq += 1) {
      const message = { v: 1, ts: start + seq * 100, seq, metrics: { temperature: 20 + seq / 10, heating: seq % 2 === 0, mode: 'eco' } };
      await outcome.client.publishAsync(bundle.manifest.topics.telemetry, JSON.stringify(message), { qos: 1 });
    }
    const online = await eventually(id, (d) => d.status === 'ONLINE' && d.readings.temperature === 22);

    // Assess
    expect(online.status).toBe('ONLINE');
    expect(online.lastSeen).toBe(new Date(start + 2_000).toISOString());
    expect(online.readings).toEqual({ temperature: 22, heating: true, mode: 'eco' });
    // The state write and the telemetry write of a batch are independent: wait for the latter too.
    const store = new DynamoDbTelemetryStore(platform.doc, platform.tables.telemetry);
    const readSeqs = async () => (await store.query({ deviceId: id, metric: 'temperature', from: start, to: Date.now(), limit: 100 })).items.map((s) => s.seq);
    let seqs = await readSeqs();
    for (let i = 0; i < 300 && seqs.length < 20; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seqs = await readSeqs();
    }
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));

    // Act: disconnect
    await outcome.client.endAsync();
    const offline = await eventually(id, (d) => d.status === 'OFFLINE');

    // Assess
    expect(offline.status).toBe('OFFLINE');
  });

  it('relays registry changes onto the bus and disconnects a device when it is revoked', async () => {
    // Prepare
    const bundle = await provision('door sensor');
    const id = bundle.manifest.thingName;
    const outcome = await connect(bundle);
    if (!outcome.ok) throw new Error(`connect failed: ${outcome.error}`);
    const closing = closed(outcome.client);

    // Act
    await revokeLocalDevice(platform.credentials, id);
    await closing;
    const again = await connect(bundle);

    // Assess
    expect(again.ok).toBe(false);
    const device = await eventually(id, (d) => d.status === 'OFFLINE');
    expect(device.status).toBe('OFFLINE');
  });

  it('disconnects a device deleted through the gRPC door at once, refuses its certificate afterwards, and revoke still answers for it', async () => {
    // Prepare
    const bundle = await provision('deleted sensor');
    const id = bundle.manifest.thingName;
    const outcome = await connect(bundle);
    if (!outcome.ok) throw new Error(`connect failed: ${outcome.error}`);
    const closing = closed(outcome.client);
    const token = await (await LocalTokenIssuer.fromDataDir(dataDir)).issue({ user: 'ops', groups: ['admin'], tokenUse: 'access' });
    const grpc = newClient(platform.endpoints.grpc!, { caPem: platform.caCertificatePem, as: { token } });

    // Act
    const deleted = await call(grpc, 'deleteDevice', { id });
    grpc.close();
    await closing;
    const again = await connect(bundle);
    const revoked = await revokeLocalDevice(platform.credentials, id);

    // Assess
    expect(deleted.error).toBeNull();
    expect(again.ok).toBe(false);
    expect(revoked).toEqual({ deleted: true });
  });

  it('admits by the certificate binding only: registry updates (forged metadata keys included) neither revoke nor re-admit a device', async () => {
    // Prepare: a connected device whose name and metadata are then changed through the registry
    const bundle = await provision('garage door');
    const id = bundle.manifest.thingName;
    const first = await connect(bundle);
    if (!first.ok) throw new Error(`connect failed: ${first.error}`);
    await platform.registry.update({ id, name: 'renamed garage door', metadata: { floor: '1' } });
    await platform.registry.update({ id, metadata: { 'iot:certificateStatus': 'REVOKED', 'iot:certificateId': '0'.repeat(64) } });
    await platform.changeFeed.flush();
    await first.client.publishAsync(`dt/iot/${id}/state`, '{"open":false}', { qos: 1 });
    const stillConnected = first.client.connected;
    await first.client.endAsync();
    const reconnect = await connect(bundle);
    if (!reconnect.ok) throw new Error(`reconnect after registry updates failed: ${reconnect.error}`);
    const closing = closed(reconnect.client);

    // Act: revoke, then try to undo it through the registry
    await revokeLocalDevice(platform.credentials, id);
    await closing;
    await platform.registry.update({ id, metadata: { 'iot:certificateStatus': 'ACTIVE', 'iot:certificateId': bundle.manifest.certificateId } });
    await platform.changeFeed.flush();
    const afterForgery = await connect(bundle);

    // Assess
    expect(stillConnected).toBe(true);
    expect(afterForgery.ok).toBe(false);
    expect(await platform.credentials.get(id)).toMatchObject({ certificateId: bundle.manifest.certificateId, status: 'REVOKED' });
    expect((await platform.registry.get(id)).name).toBe('renamed garage door');
  });
});
