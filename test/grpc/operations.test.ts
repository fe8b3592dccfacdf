import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterEach, describe, expect, it } from 'vitest';
import { DEVICE_SERVICE_NAME } from '../../src/grpc/proto.js';
import { MAX_RECEIVE_MESSAGE_BYTES } from '../../src/grpc/server.js';
import { call, channelCredentials, healthClient, newClient, once, startTestServer, type TestServer, waitFor } from './helpers.js';

const MISSING_ID = '123e4567-e89b-42d3-a456-426614174000';
const LOG_BURST = 20_000;


describe('operations', () => {
  let t: TestServer | undefined;
  let child: ChildProcess | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
    if (child && child.exitCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  it('reports SERVING while the probe succeeds and NOT_SERVING while it fails', async () => {
    // Prepare
    let reachable = true;
    t = await startTestServer({ probe: async () => { if (!reachable) throw new Error('DynamoDB unreachable'); }, probeIntervalMs: 60_000 });
    const health = healthClient(t.server.address);
    const before = await health.check('');

    // Act
    reachable = false;
    await t.server.health.check();
    const during = [await health.check(''), await health.check(DEVICE_SERVICE_NAME)];
    reachable = true;
    await t.server.health.check();
    const after = await health.check(DEVICE_SERVICE_NAME);
    health.close();

    // Assess
    expect(before).toBe('SERVING');
    expect(during).toEqual(['NOT_SERVING', 'NOT_SERVING']);
    expect(after).toBe('SERVING');
    expect(t.logs.find((l) => l.msg === 'health' && l.status === 'NOT_SERVING')).toMatchObject({ error: 'DynamoDB unreachable' });
  });

  it('treats a probe that hangs as NOT_SERVING', async () => {
    // Prepare
    let hang = false;
    t = await startTestServer({ probe: () => (hang ? new Promise<void>(() => undefined) : Promise.resolve()), probeIntervalMs: 60_000 });

    // Act
    hang = true;
    const serving = await t.server.health.check();

    // Assess
    expect(serving).toBe(false);
  }, 10_000);

  it('answers server reflection with the DeviceService and its file descriptor (what grpcurl asks)', async () => {
    // Prepare
    t = await startTestServer();
    const reflectionProto = fileURLToPath(new URL('../../node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto', import.meta.url));
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(reflectionProto, { keepCase: true })) as any;
    const client = new pkg.grpc.reflection.v1.ServerReflection(t.server.address, channelCredentials());
    const stream = client.ServerReflectionInfo();
    const answers: any[] = [];
    stream.on('data', (a: unknown) => answers.push(a));

    // Act
    stream.write({ list_services: '' });
    stream.write({ file_containing_symbol: DEVICE_SERVICE_NAME });
    await waitFor(() => answers.length === 2, 'two reflection answers');
    stream.end();
    client.close();

    // Assess
    const services = answers[0].list_services_response.service.map((s: { name: string }) => s.name);
    expect(services).toEqual(expect.arrayContaining([DEVICE_SERVICE_NAME, 'grpc.health.v1.Health']));
    const files = answers[1].file_descriptor_response.file_descriptor_proto as Buffer[];
    expect(files.length).toBeGreaterThan(0);
    expect(Buffer.concat(files).toString('latin1')).toContain('WatchDevices');
  });

  it('refuses a request larger than the maximum message size with RESOURCE_EXHAUSTED', async () => {
    // Prepare
    t = await startTestServer();

    // Act
    const { error } = await call(t.client, 'getDevice', { id: 'x'.repeat(MAX_RECEIVE_MESSAGE_BYTES + 1) });

    // Assess
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('on SIGTERM finishes the in-flight unary call, ends streams with UNAVAILABLE, exits 0 and loses no log line', async () => {
    // Prepare
    const fixture = fileURLToPath(new URL('./fixtures/shutdown-server.ts', import.meta.url));
    child = spawn(process.execPath, ['--import', 'tsx', fixture], { env: { ...process.env, SLOW_GET_MS: '1500', GRACE_MS: '8000', LOG_BURST: String(LOG_BURST) }, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line)));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const closed = new Promise<void>((resolve) => child!.stdout!.once('close', resolve));
    await waitFor(() => lines.some((l) => l.msg === 'listening'), 'the server to listen', 20_000);
    const address = `127.0.0.1:${lines.find((l) => l.msg === 'listening')!.port}`;
    const credentials = lines.find((l) => l.msg === 'credentials')!;
    const client = newClient(address, { caPem: String(credentials.caPem), as: { token: String(credentials.token) } });
    const stream = client.watchDevices({});
    stream.on('error', () => undefined);
    const streamStatus = once<grpc.StatusObject>(stream, 'status');
    await once(stream, 'metadata');
    const inFlight = call(client, 'getDevice', { id: MISSING_ID });
    await waitFor(() => lines.some((l) => l.msg === 'get started'), 'the unary call to be in flight');

    // Act
    child.kill('SIGTERM');
    const [unary, status, code] = await Promise.all([inFlight, streamStatus, exited, closed]);
    const late = await call(client, 'getDevice', { id: MISSING_ID }, { deadline: Date.now() + 2_000 });
    client.close();

    // Assess
    expect(unary.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(status).toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'server shutting down' });
    expect(code).toBe(0);
    expect(late.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(lines.find((l) => l.msg === 'stopped')).toMatchObject({ forced: false });
    // Every line the asynchronous logger took before exit reached stdout.
    expect(lines.filter((l) => l.msg === 'burst').map((l) => l.i)).toEqual(Array.from({ length: LOG_BURST }, (_, i) => i));
  }, 40_000);
});
