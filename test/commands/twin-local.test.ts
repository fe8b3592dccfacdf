import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform, type LocalPlatform } from '../../src/local/platform.js';
import { MAX_TWIN_DOCUMENT_BYTES } from '../../src/twin/twin-document.js';
import { stateTopic } from '../../src/contracts/topics.js';
import { deadLetterFile } from '../../src/local/iot-core/local-iot-core.js';
import { connect, provisionDevice, waitFor } from './local-devices.js';

describe.each([4, 5] as const)('the twin on the local platform, with MQTT.js %i devices', (protocolVersion) => {
  let dataDir: string;
  let platform: LocalPlatform;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'twin-local-'));
    platform = await startLocalPlatform({ dataDir, ports: { dynamodb: 0, mqtt: 0, graphql: 0, grpc: 0 } });
  });

  afterAll(async () => {
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends the delta of a desired patch to the device, which reports until the delta is empty; the device item carries the twin version', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'lamp');
    const device = await connect(platform, bundle, protocolVersion);
    await device.client.subscribeAsync(bundle.manifest.topics.delta, { qos: 1 });
    await waitFor(async () => (await platform.registry.get(device.id)).status === 'ONLINE', 'ONLINE');

    // Act
    const patched = await platform.twins.updateDesired({ deviceId: device.id, patch: { light: { on: true, level: 80 }, mode: 'eco' } });
    const delta = (await waitFor(() => device.messages.find((m) => m.topic === bundle.manifest.topics.delta), 'the delta')).body;
    await device.client.publishAsync(bundle.manifest.topics.state, JSON.stringify({ v: 1, reported: { light: { on: true, level: 80 }, mode: 'eco', firmware: '1.2' } }), { qos: 1 });
    const synced = await waitFor(async () => {
      const twin = await platform.twins.get(device.id);
      return Object.keys(twin.delta).length === 0 ? twin : undefined;
    }, 'an empty delta');

    // Assess
    expect(patched.version).toBe(1);
    expect(delta).toMatchObject({ v: 1, version: 1, delta: { light: { on: true, level: 80 }, mode: 'eco' } });
    expect(synced.version).toBe(2);
    expect(synced.reported).toEqual({ light: { on: true, level: 80 }, mode: 'eco', firmware: '1.2' });
    expect(synced.metadata.desired).toMatchObject({ light: { on: { version: 1 }, level: { version: 1 } }, mode: { version: 1 } });
    expect(synced.metadata.reported).toMatchObject({ firmware: { version: 2 } });
    // The registry item is marked right after the twin write.
    await waitFor(async () => (await platform.registry.get(device.id)).twinVersion === 2, 'twinVersion 2 on the device');
    await device.end();
  });

  it('gives a reconnecting device the current delta once, not a replay of every change', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'heater');
    await platform.twins.updateDesired({ deviceId: bundle.manifest.thingName, patch: { target: 19 } });
    await platform.twins.updateDesired({ deviceId: bundle.manifest.thingName, patch: { target: 20 } });
    await platform.twins.updateDesired({ deviceId: bundle.manifest.thingName, patch: { target: 21, schedule: null } });

    // Act
    const device = await connect(platform, bundle, protocolVersion);
    await device.client.subscribeAsync(bundle.manifest.topics.delta, { qos: 1 });
    await waitFor(() => device.messages.length > 0, 'the delta');
    // A later change proves nothing else was queued behind the first delta.
    await platform.twins.updateDesired({ deviceId: device.id, patch: { fan: 'auto' } });
    await waitFor(() => device.messages.length > 1, 'the next delta');

    // Assess
    expect(device.messages.map((m) => m.body)).toMatchObject([
      { version: 3, delta: { target: 21 } },
      { version: 4, delta: { target: 21, fan: 'auto' } },
    ]);
    await device.end();
  });

  it('sends the delta again when a report leaves one (an older report landing after a newer one), and nothing for a report that changes nothing', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, `fan-v${protocolVersion}`);
    const device = await connect(platform, bundle, protocolVersion);
    await device.client.subscribeAsync(bundle.manifest.topics.delta, { qos: 1 });
    await waitFor(async () => (await platform.registry.get(device.id)).status === 'ONLINE', 'ONLINE');
    await platform.twins.updateDesired({ deviceId: device.id, patch: { speed: 3 } });
    // The subscription's own current-delta send may repeat version 1: versions are what count.
    const versions = () => [...new Set(device.messages.map((m) => m.body.version as number))];
    await waitFor(() => versions().includes(1), 'the first delta');

    // Act: a stale report, then the same report again (no change, so not written)
    await device.client.publishAsync(bundle.manifest.topics.state, JSON.stringify({ v: 1, reported: { speed: 1 } }), { qos: 1 });
    await waitFor(() => versions().includes(2), 'the delta again');
    await device.client.publishAsync(bundle.manifest.topics.state, JSON.stringify({ v: 1, reported: { speed: 1 } }), { qos: 1 });
    // A desired change proves nothing else was sent in between.
    await platform.twins.updateDesired({ deviceId: device.id, patch: { light: true } });
    await waitFor(() => versions().includes(3), 'the next delta');

    // Assess
    expect(versions()).toEqual([1, 2, 3]);
    const at = (version: number) => device.messages.find((m) => m.body.version === version)!.body.delta;
    expect([at(1), at(2), at(3)]).toEqual([{ speed: 3 }, { speed: 3 }, { speed: 3, light: true }]);
    await device.end();
  });

  it('refuses a stale expectedVersion with a Conflict carrying the current version', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'valve');
    const first = await platform.twins.updateDesired({ deviceId: bundle.manifest.thingName, patch: { open: false } });

    // Act
    const next = await platform.twins.updateDesired({ deviceId: bundle.manifest.thingName, patch: { open: true }, expectedVersion: first.version });
    const stale = await platform.twins.updateDesired({ deviceId: bundle.manifest.thingName, patch: { open: false }, expectedVersion: first.version }).catch((e: unknown) => e);

    // Assess
    expect(next.version).toBe(2);
    expect(stale).toMatchObject({ code: 'CONFLICT', currentVersion: 2 });
    expect((await platform.twins.get(bundle.manifest.thingName)).desired).toEqual({ open: true });
  });

  it('takes expectedVersion 0 for a twin never changed, and refuses it once the twin moved on', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'fresh');
    const id = bundle.manifest.thingName;

    // Act
    const first = await platform.twins.updateDesired({ deviceId: id, patch: { mode: 'eco' }, expectedVersion: 0 });
    const late = await platform.twins.updateDesired({ deviceId: id, patch: { mode: 'boost' }, expectedVersion: 0 }).catch((e: unknown) => e);
    const negative = await platform.twins.updateDesired({ deviceId: id, patch: { mode: 'boost' }, expectedVersion: -1 }).catch((e: unknown) => e);

    // Assess
    expect(first.version).toBe(1);
    expect(late).toMatchObject({ code: 'CONFLICT', currentVersion: 1 });
    expect(negative).toMatchObject({ code: 'VALIDATION' });
    expect((await platform.twins.get(id)).desired).toEqual({ mode: 'eco' });
  });

  it('holds a 64 KB desired document and refuses one byte more with a clear error', async () => {
    // Prepare
    const bundle = await provisionDevice(platform, dataDir, 'big');
    const overhead = JSON.stringify({ blob: '' }).length;
    const exact = { blob: 'x'.repeat(MAX_TWIN_DOCUMENT_BYTES - overhead) };

    // Act
    const stored = await platform.twins.updateDesired({ deviceId: bundle.manifest.thingName, patch: exact });
    const over = await platform.twins.updateDesired({ deviceId: bundle.manifest.thingName, patch: { more: 1 } }).catch((e: unknown) => e);

    // Assess
    expect(Buffer.byteLength(JSON.stringify(stored.desired))).toBe(MAX_TWIN_DOCUMENT_BYTES);
    expect(over).toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/at most 65536 bytes/) });
    expect((await platform.twins.get(bundle.manifest.thingName)).version).toBe(1);
  });

  it("dead-letters a device's oversized or too deep report without touching its twin, and cuts it off for writing another device's state", async () => {
    // Prepare
    const victimBundle = await provisionDevice(platform, dataDir, 'victim');
    const attackerBundle = await provisionDevice(platform, dataDir, 'attacker');
    const attacker = await connect(platform, attackerBundle);
    await attacker.client.publishAsync(attackerBundle.manifest.topics.state, JSON.stringify({ v: 1, reported: { ok: true } }), { qos: 1 });
    await waitFor(async () => ((await platform.twins.get(attacker.id)).reported.ok === true ? true : undefined), 'the first report');
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = { d: deep };
    const reports = [
      JSON.stringify({ v: 1, reported: { blob: 'x'.repeat(100 * 1024) } }),
      JSON.stringify({ v: 1, reported: deep }),
      JSON.stringify({ v: 1, reported: Object.fromEntries(Array.from({ length: 2001 }, (_, i) => [`k${i}`, i])) }),
    ];
    const deadLetters = () => {
      try {
        return readFileSync(deadLetterFile(dataDir), 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { reason: string; thingName?: string; detail: string });
      } catch {
        return [];
      }
    };
    const before = deadLetters().length;

    // Act
    for (const report of reports) await attacker.client.publishAsync(attackerBundle.manifest.topics.state, report, { qos: 1 });
    const refused = await waitFor(() => {
      const mine = deadLetters().slice(before).filter((l) => l.thingName === attacker.id);
      return mine.length === reports.length ? mine : undefined;
    }, 'a dead letter for each report');
    const closed = new Promise<void>((resolve) => attacker.client.once('close', () => resolve()));
    attacker.client.publish(stateTopic(victimBundle.manifest.thingName), JSON.stringify({ v: 1, reported: { hijacked: true } }), { qos: 1 });
    await closed;

    // Assess
    expect(refused.map((l) => l.reason)).toEqual(['INVALID_STATE', 'INVALID_STATE', 'INVALID_STATE']);
    expect(refused[2]!.detail).toMatch(/would hold 2002 values; at most 2000 are allowed/);
    const twin = await platform.twins.get(attacker.id);
    expect(twin.reported).toEqual({ ok: true });
    expect(twin.version).toBe(1);
    await expect(platform.twins.get(victimBundle.manifest.thingName)).resolves.not.toMatchObject({ reported: { hijacked: true } });
  });
});
