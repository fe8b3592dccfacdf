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

  it('delivers every change in order when a fan-out spans several turns of the event loop', async () => {
    // Prepare: chunks of 2 streams, so each change to 5 streams takes 3 turns.
    t = await startTestServer({ watch: { fanoutChunk: 2 } });
    const ID_B = '22222222-2222-4222-8222-222222222222';
    const everything = [watch(), watch(), watch()];
    const onlyA = [watch([ID_A]), watch([ID_A, ID_B])];
    await Promise.all([...everything, ...onlyA].map((w) => once(w.stream, 'metadata')));

    // Act: three changes at once, so two wait behind the first one's fan-out.
    t.changes.emit(change(ID_A, 1));
    t.changes.emit(change(ID_B, 2));
    t.changes.emit(change(ID_A, 3));
    await waitFor(() => everything.every((w) => w.seen.length === 3) && onlyA[0]!.seen.length === 2 && onlyA[1]!.seen.length === 3, 'every change on every stream');

    // Assess
    for (const w of everything) expect(w.seen.map((m) => m.device?.name)).toEqual(['device 1', 'device 2', 'device 3']);
    expect(onlyA[0]!.seen.map((m) => m.device?.name)).toEqual(['device 1', 'device 3']);
    expect(onlyA[1]!.seen.map((m) => m.device?.name)).toEqual(['device 1', 'device 2', 'device 3']);
    expect(t.changes.listenerCount).toBe(1);
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
    while (t.server.watchers.receiving > 1 && n < 400) {
      t.changes.emit(change(ID_A, ++n, 16_000));
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => fast.seen.length === n, 'the fast consumer to get every change');

    // Assess
    expect(t.server.watchers.receiving).toBe(1);
    expect(t.changes.listenerCount).toBe(1);
    expect(fast.status()).toBeUndefined();
    slow.stream.cancel();
  });
});
