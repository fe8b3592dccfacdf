import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/domain/errors.js';
import type { DeviceRepository } from '../../src/ports/device-repository.js';
import type { Device__Output } from '../../src/generated/proto/iot/device/v1/Device.js';
import { call, startTestServer, type TestServer, waitFor } from './helpers.js';
import { recordingLogger } from '../support/recording-logger.js';

const MISSING_ID = '123e4567-e89b-42d3-a456-426614174000';

describe('DeviceService over grpc-js', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function create(name = 'pump 1', extra: Record<string, unknown> = {}): Promise<Device__Output> {
    const { error, response } = await call(t!.client, 'createDevice', {
      device: { name, type: 'pump', status: 'DEVICE_STATUS_OFFLINE', metadata: { site: 'north' } },
      ...extra,
    });
    expect(error).toBeNull();
    return response!;
  }

  it('creates a device and returns it with id, timestamps and version', async () => {
    // Prepare
    t = await startTestServer();

    // Act
    const device = await create();

    // Assess
    expect(device).toMatchObject({ name: 'pump 1', type: 'pump', status: 'DEVICE_STATUS_OFFLINE', metadata: { site: 'north' }, version: '1' });
    expect(device.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(device.createdAt!.seconds)).toBeGreaterThan(1_600_000_000);
    expect(device.lastSeen).toBeNull();
  });

  it('uses device_id as the id when it is given', async () => {
    // Prepare
    t = await startTestServer();

    // Act
    const device = await create('pump 2', { deviceId: MISSING_ID });

    // Assess
    expect(device.id).toBe(MISSING_ID);
  });

  it('reads a device back with GetDevice', async () => {
    // Prepare
    t = await startTestServer();
    const created = await create();

    // Act
    const { error, response } = await call(t.client, 'getDevice', { id: created.id });

    // Assess
    expect(error).toBeNull();
    expect(response).toEqual(created);
  });

  it('lists devices page by page with a total', async () => {
    // Prepare
    t = await startTestServer();
    for (let i = 0; i < 3; i++) await create(`pump ${i}`);

    // Act
    const first = await call(t.client, 'listDevices', { pageSize: 2 });
    const second = await call(t.client, 'listDevices', { pageSize: 2, pageToken: first.response!.nextPageToken });

    // Assess
    expect(first.response!.devices.map((d) => d.name)).toEqual(['pump 0', 'pump 1']);
    expect(first.response!.totalSize).toBe('3');
    expect(second.response!.devices.map((d) => d.name)).toEqual(['pump 2']);
    expect(second.response!.nextPageToken).toBe('');
  });

  it('filters the listing by status and type', async () => {
    // Prepare
    t = await startTestServer();
    await create('a');
    await call(t.client, 'createDevice', { device: { name: 'b', type: 'valve', status: 'DEVICE_STATUS_ONLINE' } });

    // Act
    const online = await call(t.client, 'listDevices', { status: 'DEVICE_STATUS_ONLINE' });
    const pumps = await call(t.client, 'listDevices', { type: 'pump' });

    // Assess
    expect(online.response!.devices.map((d) => d.name)).toEqual(['b']);
    expect(pumps.response!.devices.map((d) => d.name)).toEqual(['a']);
  });

  it('updates only the fields named in update_mask and checks the version', async () => {
    // Prepare
    t = await startTestServer();
    const created = await create();

    // Act
    const { error, response } = await call(t.client, 'updateDevice', {
      device: { id: created.id, name: 'renamed', type: 'ignored', version: created.version },
      updateMask: { paths: ['name'] },
    });

    // Assess
    expect(error).toBeNull();
    expect(response).toMatchObject({ name: 'renamed', type: 'pump', version: '2' });
  });

  it('deletes a device, after which GetDevice is NOT_FOUND', async () => {
    // Prepare
    t = await startTestServer();
    const created = await create();

    // Act
    const deleted = await call(t.client, 'deleteDevice', { id: created.id, version: '1' });
    const read = await call(t.client, 'getDevice', { id: created.id });

    // Assess
    expect(deleted.error).toBeNull();
    expect(read.error?.code).toBe(grpc.status.NOT_FOUND);
  });

  it('returns fleet counters from GetDeviceStats', async () => {
    // Prepare
    t = await startTestServer();
    await create('a');
    await call(t.client, 'createDevice', { device: { name: 'b', type: 'valve', status: 'DEVICE_STATUS_ONLINE' } });

    // Act
    const { response } = await call(t.client, 'getDeviceStats', {});

    // Assess
    expect(response).toMatchObject({ total: '2', online: '1', byType: { pump: '1', valve: '1' } });
    expect(response!.byStatus).toMatchObject({ ONLINE: '1', OFFLINE: '1' });
  });

  it.each([
    ['an id that is not a UUID', { id: 'not-a-uuid' }],
    ['an empty id', { id: '' }],
  ])('answers INVALID_ARGUMENT for %s', async (_name, request) => {
    // Prepare
    t = await startTestServer();

    // Act
    const { error } = await call(t.client, 'getDevice', request);

    // Assess
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toMatch(/id/);
  });

  it('answers INVALID_ARGUMENT for a huge page_size, a forged page token and a bad mask path', async () => {
    // Prepare
    t = await startTestServer();
    const created = await create();

    // Act
    const huge = await call(t.client, 'listDevices', { pageSize: 2_000_000_000 });
    const negative = await call(t.client, 'listDevices', { pageSize: -1 });
    const forged = await call(t.client, 'listDevices', { pageToken: 'eyJmb3JnZWQiOnRydWV9' });
    const mask = await call(t.client, 'updateDevice', { device: { id: created.id }, updateMask: { paths: ['version'] } });

    // Assess
    for (const r of [huge, negative, forged, mask]) expect(r.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('answers NOT_FOUND for a device that does not exist', async () => {
    // Prepare
    t = await startTestServer();

    // Act
    const { error } = await call(t.client, 'getDevice', { id: MISSING_ID });

    // Assess
    expect(error?.code).toBe(grpc.status.NOT_FOUND);
  });

  it('answers ALREADY_EXISTS when device_id is taken', async () => {
    // Prepare
    t = await startTestServer();
    await create('first', { deviceId: MISSING_ID });

    // Act
    const { error } = await call(t.client, 'createDevice', { device: { name: 'second', type: 'pump' }, deviceId: MISSING_ID });

    // Assess
    expect(error?.code).toBe(grpc.status.ALREADY_EXISTS);
  });

  it('answers ABORTED when the version changed in between', async () => {
    // Prepare
    t = await startTestServer();
    const created = await create();
    await call(t.client, 'updateDevice', { device: { id: created.id, name: 'x' }, updateMask: { paths: ['name'] } });

    // Act
    const update = await call(t.client, 'updateDevice', {
      device: { id: created.id, name: 'y', version: created.version },
      updateMask: { paths: ['name'] },
    });
    const del = await call(t.client, 'deleteDevice', { id: created.id, version: created.version });

    // Assess
    expect(update.error?.code).toBe(grpc.status.ABORTED);
    expect(del.error?.code).toBe(grpc.status.ABORTED);
  });

  it('answers UNAVAILABLE when the repository is unreachable', async () => {
    // Prepare
    t = await startTestServer({
      wrapRepository: (repo) => ({ ...bind(repo), get: async () => Promise.reject(new UnavailableError('DynamoDB is unreachable')) }),
    });

    // Act
    const { error } = await call(t.client, 'getDevice', { id: MISSING_ID });

    // Assess
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('answers INTERNAL without internals for an unexpected error', async () => {
    // Prepare
    t = await startTestServer({
      wrapRepository: (repo) => ({ ...bind(repo), get: async () => Promise.reject(new TypeError('secret table arn:aws:dynamodb:xyz exploded')) }),
    });

    // Act
    const { error } = await call(t.client, 'getDevice', { id: MISSING_ID });

    // Assess
    expect(error?.code).toBe(grpc.status.INTERNAL);
    expect(error?.details).toBe('internal error');
    expect(t.logs.find((l) => l.method === 'GetDevice')).toMatchObject({ code: 'INTERNAL', error: expect.stringContaining('exploded') });
  });

  it('answers DEADLINE_EXCEEDED when the call outlives its deadline, and stops waiting for the work', async () => {
    // Prepare
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    t = await startTestServer({ wrapRepository: (repo) => ({ ...bind(repo), get: async (id) => ((started += 1), gate.then(() => repo.get(id))) }) });

    // Act
    const { error } = await call(t.client, 'getDevice', { id: MISSING_ID }, { deadline: Date.now() + 1_500 });
    await waitFor(() => t!.logs.some((l) => l.method === 'GetDevice'), 'the call log line');

    // Assess
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(started).toBe(1);
    expect(t.logs.find((l) => l.method === 'GetDevice')).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    release();
  });

  it('stops a cancelled call: the handler finishes while the repository is still blocked', async () => {
    // Prepare
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    t = await startTestServer({
      wrapRepository: (repo) => ({ ...bind(repo), get: async (id) => ((started += 1), gate.then(() => repo.get(id))) }),
    });
    const blocked = call(t.client, 'getDevice', { id: MISSING_ID });
    await waitFor(() => started === 1, 'the first call to reach the repository');

    // Act
    let cancelError: grpc.ServiceError | null = null;
    const settled = new Promise<void>((resolve) => {
      const c = t!.client.getDevice({ id: MISSING_ID }, (e) => ((cancelError = e), resolve()));
      void waitFor(() => started === 2, 'the second call to reach the repository').then(() => c.cancel());
    });
    await settled;
    await waitFor(() => t!.logs.some((l) => l.method === 'GetDevice'), 'the cancelled call log line');

    // Assess
    expect(cancelError!.code).toBe(grpc.status.CANCELLED);
    expect(t.logs.filter((l) => l.method === 'GetDevice').map((l) => l.code)).toEqual(['CANCELLED']);
    release();
    expect((await blocked).error?.code).toBe(grpc.status.NOT_FOUND);
  });

  it('writes one JSON log line per call with method, code and duration', async () => {
    // Prepare
    const logger = recordingLogger();
    const lines = logger.text;
    t = await startTestServer({ log: logger });

    // Act
    await call(t.client, 'getDevice', { id: MISSING_ID });

    // Assess
    const entry = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'rpc');
    expect(entry).toMatchObject({ method: 'GetDevice', code: 'NOT_FOUND', durationMs: expect.any(Number), time: expect.any(String) });
  });
});

function bind(repo: DeviceRepository): DeviceRepository {
  return {
    create: repo.create.bind(repo),
    get: repo.get.bind(repo),
    list: repo.list.bind(repo),
    update: repo.update.bind(repo),
    delete: repo.delete.bind(repo),
  };
}
