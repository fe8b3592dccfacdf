import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceChange } from '../../src/domain/device-change.js';
import { call, once, startTestServer, type TestServer, waitFor, watchChanges } from './helpers.js';

const ID_A = '11111111-1111-4111-8111-111111111111';

function change(id: string, n: number, metadataBytes = 0): DeviceChange {
  const now = new Date().toISOString();
  return {
    changeType: 'UPDATED',
    changedAt: now,
    sequence: String(n).padStart(21, '0'),
    device: {
      id,
      name: `device ${n}`,
      type: 'pump',
      status: 'ONLINE',
      createdAt: now,
      updatedAt: now,
      metadata: metadataBytes ? { blob: 'x'.repeat(metadataBytes) } : {},
      version: n,
      readings: {},
    },
  };
}

describe('WatchDevices', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const watch = (deviceIds: string[] = []) => watchChanges(t!.client, deviceIds);

  it('streams created, updated and deleted changes made through the registry', async () => {
    // Prepare
    t = await startTestServer();
    const w = watch();
    await once(w.stream, 'metadata');

    // Act
    const { response: created } = await call(t.client, 'createDevice', { device: { name: 'a', type: 'pump' } });
    await call(t.client, 'updateDevice', { device: { id: created!.id, name: 'b' }, updateMask: { paths: ['name'] } });
    await call(t.client, 'deleteDevice', { id: created!.id });
    await waitFor(() => w.seen.length === 3, 'three changes');

    // Assess
    expect(w.seen.map((m) => [m.changeType, m.device?.name])).toEqual([
      ['CHANGE_TYPE_CREATED', 'a'],
      ['CHANGE_TYPE_UPDATED', 'b'],
      ['CHANGE_TYPE_DELETED', 'b'],
    ]);
    expect(Number(w.seen[0]!.changeTime!.seconds)).toBeGreaterThan(0);
  });

  it('delivers only the devices named in device_ids', async () => {
    // Prepare
    t = await startTestServer();
    const w = watch([ID_A]);
    await once(w.stream, 'metadata');

    // Act
    t.changes.emit(change('22222222-2222-4222-8222-222222222222', 1));
    t.changes.emit(change(ID_A, 2));
    await waitFor(() => w.seen.length === 1, 'the watched change');

    // Assess
    expect(w.seen.map((m) => m.device?.id)).toEqual([ID_A]);
  });

  it('answers INVALID_ARGUMENT for a device id that is not a UUID', async () => {
    // Prepare
    t = await startTestServer();

    // Act
    const w = watch([ID_A, 'nope']);
    await waitFor(() => w.status() !== undefined, 'the status');

    // Assess
    expect(w.status()?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(w.status()?.details).toMatch(/device_ids\[1\]/);
    expect(t.changes.listenerCount).toBe(0);
  });

  it('unsubscribes from the change source when the caller cancels', async () => {
    // Prepare
    t = await startTestServer();
    const w = watch();
    await once(w.stream, 'metadata');
    expect(t.changes.listenerCount).toBe(1);

    // Act
    w.stream.cancel();
    await waitFor(() => t!.changes.listenerCount === 0, 'the unsubscribe');

    // Assess
    expect(t.logs.find((l) => l.method === 'WatchDevices')).toMatchObject({ code: 'CANCELLED' });
  });

  it('ends a consumer that cannot keep up with RESOURCE_EXHAUSTED and drops its queue', async () => {
    // Prepare
    t = await startTestServer({ watch: { maxQueued: 8 } });
    const w = watch();
    await once(w.stream, 'metadata');
    w.stream.pause();

    // Act: 16 KB changes fill the HTTP/2 window, grpc-js' buffer, then the bounded queue.
    for (let n = 1; n <= 400 && t.changes.listenerCount > 0; n++) {
      t.changes.emit(change(ID_A, n, 16_000));
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => t!.changes.listenerCount === 0, 'the slow stream to be dropped');
    w.stream.resume();
    await waitFor(() => w.status() !== undefined, 'the status');

    // Assess
    expect(w.status()?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(w.seen.length).toBeLessThan(400);
    expect(t.logs.find((l) => l.method === 'WatchDevices')).toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
  });

  it('keeps serving a fast consumer while a slow one is dropped', async () => {
    // Prepare
    t = await startTestServer({ watch: { maxQueued: 8 } });
    const slow = watch();
    const fast = watch();
    await Promise.all([once(slow.stream, 'metadata'), once(fast.stream, 'metadata')]);
    slow.stream.pause();

    // Act
    let n = 0;
    while (t.changes.listenerCount > 1 && n < 400) {
      t.changes.emit(change(ID_A, ++n, 16_000));
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => fast.seen.length === n, 'the fast consumer to get every change');

    // Assess
    expect(t.changes.listenerCount).toBe(1);
    expect(fast.status()).toBeUndefined();
    slow.stream.cancel();
  });
});
