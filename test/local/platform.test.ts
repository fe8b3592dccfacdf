import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceChange } from '../../src/domain/device-change.js';
import { DynamoDbDeviceStateWriter } from '../../src/adapters/dynamodb/device-state-writer.js';
import { DynamoDbStatsStore } from '../../src/adapters/dynamodb/stats-store.js';
import { padSequence } from '../../src/domain/change-sequence.js';
import { testDevice } from '../domain/test-device.js';
import { ANY_FREE_PORTS, startLocalPlatform, type LocalPlatform } from '../../src/local/platform.js';
import { DataDirLockedError, PortInUseError } from '../../src/local/startup-errors.js';
import { ensureTables, localTableNames, startDynalite } from '../../src/local/dynamodb/dynalite.js';
import { DEVICES_TABLE } from '../../src/contracts/tables.js';
import { ROTATION_DUE_INDEX } from '../../src/contracts/rotation-sweep.js';

const ANY_PORTS = ANY_FREE_PORTS;

describe('startLocalPlatform', () => {
  const running: LocalPlatform[] = [];
  const dirs: string[] = [];
  const start = async (options: Parameters<typeof startLocalPlatform>[0]) => {
    const platform = await startLocalPlatform({ ports: ANY_PORTS, ...options });
    running.push(platform);
    return platform;
  };
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'iot-local-'));
    dirs.push(dir);
    return dir;
  };

  afterEach(async () => {
    for (const platform of running.splice(0)) await platform.stop();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('counts a device created through the registry in stats once the change feed is flushed', async () => {
    // Prepare
    const platform = await start({ ephemeral: true });
    const changes: DeviceChange[] = [];
    platform.changeFeed.subscribe((change) => changes.push(change));

    // Act
    const device = await platform.registry.create({ name: 'pump 1', type: 'pump', status: 'ONLINE' });
    await platform.changeFeed.flush();

    // Assess
    const stats = await platform.registry.stats();
    expect(stats.total).toBe(1);
    expect(stats.byStatus.ONLINE).toBe(1);
    expect(stats.byType).toEqual({ pump: 1 });
    expect(changes.map((c) => [c.changeType, c.device.id])).toEqual([['CREATED', device.id]]);
    expect(platform.dataDir).toBeUndefined();
  });

  it('keeps stats equal to the fleet after concurrent creates, updates and deletes', async () => {
    // Prepare
    const platform = await start({ ephemeral: true });
    const statuses = ['ONLINE', 'OFFLINE', 'ERROR'] as const;
    const created = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        platform.registry.create({ name: `d${i}`, type: i % 2 ? 'pump' : 'valve', status: statuses[i % 3] }),
      ),
    );

    // Act
    await Promise.all([
      ...created.slice(0, 20).map((d) => platform.registry.update({ id: d.id, status: 'MAINTENANCE', type: 'meter' })),
      ...created.slice(20, 30).map((d) => platform.registry.delete(d.id)),
      ...created.slice(0, 5).map((d) => platform.registry.update({ id: d.id, name: 'renamed' })),
    ]);
    await platform.changeFeed.flush();

    // Assess
    const fleet = (await platform.registry.list({ limit: 100 })).items;
    const stats = await platform.registry.stats();
    const count = (values: string[]) => values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});
    expect(fleet).toHaveLength(30);
    expect(stats.total).toBe(30);
    expect(stats.byType).toEqual(count(fleet.map((d) => d.type)));
    expect(stats.byStatus).toEqual({ UNKNOWN: 0, ONLINE: 0, OFFLINE: 0, ERROR: 0, MAINTENANCE: 0, ...count(fleet.map((d) => d.status)) });
  }, 90_000); // ~100 writes through every step of the pipeline: generous for a loaded 2-core CI box

  it('serves every table through its DynamoDB endpoint and names it in endpoints', async () => {
    // Prepare
    const platform = await start({ ephemeral: true });

    // Act
    const listed = await platform.doc.send(new ListTablesCommand({}));

    // Assess
    expect(platform.endpoints.dynamodb).toBe(platform.dynamodbEndpoint);
    expect(platform.dynamodbEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(listed.TableNames).toEqual(expect.arrayContaining(Object.values(platform.tables)));
  });

  it('keeps devices and counters across a stop and start with a data directory', async () => {
    // Prepare
    const dataDir = tempDir();
    const first = await start({ dataDir });
    // MAINTENANCE: an ONLINE device without a session would be set OFFLINE at startup.
    const device = await first.registry.create({ name: 'valve', type: 'valve', status: 'MAINTENANCE' });
    await first.registry.create({ name: 'valve 2', type: 'valve' });
    const page = await first.registry.list({ limit: 1 });
    await first.changeFeed.flush();
    await first.stop();

    // Act
    const second = await start({ dataDir });
    const again = await second.registry.get(device.id);
    await second.registry.update({ id: device.id, status: 'OFFLINE' });
    await second.changeFeed.flush();

    // Assess: the counters keep counting after the restart (sequences keep increasing),
    // and a page token handed out before the restart still works (the secret is kept)
    expect(page.nextPageToken).toBeDefined();
    expect(again).toEqual(device);
    const stats = await second.registry.stats();
    expect(stats.total).toBe(2);
    expect(stats.byStatus.MAINTENANCE).toBe(0);
    expect(stats.byStatus.OFFLINE).toBe(1);
    const nextPage = await second.registry.list({ limit: 1, pageToken: page.nextPageToken! });
    expect(nextPage.items.map((d) => d.name)).toEqual(['valve 2']);
  });

  it('at startup sets OFFLINE the devices left ONLINE without a session, and recounts drifted stats', async () => {
    // Prepare: a device left ONLINE (as after a crash) and a counter the registry does not back
    const dataDir = tempDir();
    const first = await start({ dataDir });
    const stranded = await first.registry.create({ name: 'stranded', type: 'valve' });
    const byApi = await first.registry.create({ name: 'set by an operator', type: 'valve', status: 'ONLINE' });
    // Connected, as a lifecycle event records it, and then the process dies without its disconnect.
    await new DynamoDbDeviceStateWriter(first.doc, first.tables.devices).recordPresence({ deviceId: stranded.id, status: 'ONLINE', at: Date.now() - 60_000, version: 1 });
    await first.changeFeed.flush();
    await new DynamoDbStatsStore(first.doc, first.tables.stats).apply({
      changeType: 'CREATED',
      device: testDevice('00000000-0000-4000-8000-0000000000ff', { type: 'valve' }),
      changedAt: 'x',
      sequence: padSequence(1),
    });
    expect((await first.registry.stats()).total).toBe(3);
    await first.stop();
    const lines: string[] = [];

    // Act
    const second = await start({ dataDir, log: (line) => lines.push(line) });
    await second.changeFeed.flush();

    // Assess
    expect(await second.registry.get(stranded.id)).toMatchObject({ status: 'OFFLINE' });
    expect(await second.registry.get(byApi.id)).toMatchObject({ status: 'ONLINE' });
    expect(lines).toContain('stats disagreed with the registry and were rebuilt: 1 ledger shard(s) corrected');
    expect(lines).toContain(`presence: ${stranded.id} set OFFLINE (CONNECTION_LOST): the broker has no session for it`);
    expect(await second.registry.stats()).toMatchObject({ total: 2, byStatus: { ONLINE: 1, OFFLINE: 1 } });
  });

  it('finishes a certificate rotation in the registry once its grace period ends, with no --finish', async () => {
    // Prepare
    const lines: string[] = [];
    const platform = await start({ ephemeral: true, rotationSweepMs: 100, log: (line) => lines.push(line) });
    const device = await platform.registry.create({ name: 'pump', type: 'pump' });
    await platform.credentials.bind(device.id, 'a'.repeat(64));

    // Act
    await platform.credentials.beginRotation(device.id, 'b'.repeat(64), 300);

    // Assess: the binding converges by itself (polled: the sweep runs on its own timer)
    const deadline = Date.now() + 30_000;
    while ((await platform.credentials.get(device.id))?.pendingCertificateId !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const binding = await platform.credentials.get(device.id);
    expect(binding).toMatchObject({ certificateId: 'b'.repeat(64), status: 'ACTIVE' });
    expect(binding).not.toHaveProperty('pendingCertificateId');
    expect(lines).toContain(`rotation: ${device.id}'s grace period is over; certificate ${'a'.repeat(64)} retired`);
  });

  it('starts and works on a data directory whose Devices table predates the rotation index, with the local sweep off', async () => {
    // Prepare: the Devices table as an earlier version created it, without byGraceEnd
    const dataDir = tempDir();
    const old = await startDynalite({ path: join(dataDir, 'dynamodb') });
    const withoutIndex = { ...DEVICES_TABLE, globalSecondaryIndexes: DEVICES_TABLE.globalSecondaryIndexes.filter((i) => i.indexName !== ROTATION_DUE_INDEX) };
    await ensureTables(old.endpoint, localTableNames('iot-', [withoutIndex]), [withoutIndex]);
    await old.stop();
    const lines: string[] = [];

    // Act
    const platform = await start({ dataDir, log: (line) => lines.push(line) });
    const device = await platform.registry.create({ name: 'pump', type: 'pump' });
    await platform.credentials.bind(device.id, 'a'.repeat(64));
    await platform.credentials.beginRotation(device.id, 'b'.repeat(64), 60_000);

    // Assess
    expect(lines.some((line) => line.startsWith(`rotation sweep: off; the Devices table of this data directory predates the ${ROTATION_DUE_INDEX} index`))).toBe(true);
    expect(await platform.credentials.get(device.id)).toMatchObject({ certificateId: 'a'.repeat(64), pendingCertificateId: 'b'.repeat(64) });
    expect((await platform.credentials.finishRotation(device.id, 'b'.repeat(64))).certificateId).toBe('b'.repeat(64));
  });

  it('refuses a second platform on a data directory in use', async () => {
    // Prepare
    const dataDir = tempDir();
    await start({ dataDir });

    // Act
    const second = startLocalPlatform({ dataDir, ports: ANY_PORTS });

    // Assess
    await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
    await expect(second).rejects.toThrow(/--data-dir/);
  });

  it('names the port and its flag when the DynamoDB port is taken, and leaves nothing running', async () => {
    // Prepare
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const dataDir = tempDir();

    try {
      // Act
      const attempt = startLocalPlatform({ dataDir, ports: { ...ANY_PORTS, dynamodb: port } });

      // Assess
      await expect(attempt).rejects.toBeInstanceOf(PortInUseError);
      await expect(attempt).rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${port}.*--port-dynamodb`));
      const retry = await start({ dataDir }); // the lock was released on the failed start
      expect(retry.dataDir).toBe(dataDir);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
