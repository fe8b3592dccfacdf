import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { changeTopic } from '../../src/contracts/topics.js';
import type { WatchDevicesResponse__Output } from '../../src/generated/proto/iot/device/v1/WatchDevicesResponse.js';
import { ensureTables, LOCAL_CREDENTIALS, localTableNames, startDynalite, type LocalDynamo } from '../../src/local/dynamodb/dynalite.js';
import { buildGrpc } from '../../scripts/build-grpc.js';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { call, newClient, once, waitFor } from './helpers.js';

const USER_POOL_ID = 'us-east-1_BundleTest';
const CLIENT_ID = 'bundle-internal-client';

const run = promisify(execFile);

/** The esbuild bundle run by plain node (not tsx), against dynalite and an MQTT-over-WebSocket broker. */
describe('the bundled gRPC server', () => {
  let dist: string;
  let dynamo: LocalDynamo;
  let broker: Aedes;
  let http: Server;
  let child: ChildProcess;
  const lines: Record<string, unknown>[] = [];
  let address: string;
  let jwks: Server;
  let token: string;

  beforeAll(async () => {
    // A stand-in for the user pool's JWKS endpoint (AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER);
    // the tokens carry the real Cognito issuer of USER_POOL_ID, as a deployed task sees them.
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'bundle', alg: 'RS256', use: 'sig' };
    jwks = createServer((req, res) => {
      if (req.url !== `/${USER_POOL_ID}/.well-known/jwks.json`) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    token = await new SignJWT({ token_use: 'access', client_id: CLIENT_ID, scope: 'devices/read devices/write', version: 2 })
      .setProtectedHeader({ alg: 'RS256', kid: 'bundle' })
      .setIssuer(`https://cognito-idp.us-east-1.amazonaws.com/${USER_POOL_ID}`)
      .setSubject(CLIENT_ID)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
    dist = mkdtempSync(join(tmpdir(), 'grpc-dist-'));
    await buildGrpc(dist);
    dynamo = await startDynalite();
    const names = localTableNames('bundle-');
    await ensureTables(dynamo.endpoint, names);
    broker = new Aedes();
    await broker.listen();
    http = createServer();
    new WebSocketServer({ server: http }).on('connection', (ws) => broker.handle(createWebSocketStream(ws) as never));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    child = spawn(process.execPath, [join(dist, 'main.mjs')], {
      env: {
        PATH: process.env.PATH,
        DEVICES_TABLE_NAME: names.Devices,
        STATS_TABLE_NAME: names.Stats,
        ALARMS_TABLE_NAME: names.Alarms,
        PAGE_TOKEN_SECRET: 'bundle-test-secret-bundle-test-secret',
        IOT_ENDPOINT: 'iot.example.invalid',
        IOT_ENDPOINT_URL: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/mqtt`,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        HOST: '127.0.0.1',
        PORT: '0',
        HEALTH_PROBE_INTERVAL_MS: '200',
        USER_POOL_ID,
        ACCESS_TOKEN_CLIENT_IDS: `web-client,${CLIENT_ID}`,
        AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`,
        SHUTDOWN_GRACE_MS: '3000',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line)));
    await waitFor(() => lines.some((l) => l.msg === 'listening' || l.msg === 'startup failed'), 'the bundle to listen', 30_000);
    const listening = lines.find((l) => l.msg === 'listening');
    if (!listening) throw new Error(`bundle failed: ${JSON.stringify(lines)}`);
    address = `127.0.0.1:${listening.port}`;
  }, 90_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
    await new Promise<void>((r) => (jwks ? jwks.close(() => r()) : r()));
    await new Promise<void>((r) => (broker ? broker.close(() => r()) : r()));
    await dynamo?.stop().catch(() => undefined);
    rmSync(dist, { recursive: true, force: true });
  });

  it('refuses a call without a token and names the caller of an accepted one in its log line', async () => {
    // Prepare
    const anonymous = newClient(address, { caPem: null, as: 'anonymous' });
    const client = newClient(address, { caPem: null, as: { token } });

    // Act
    const refused = await call(anonymous, 'getDeviceStats', {});
    const accepted = await call(client, 'getDeviceStats', {});
    anonymous.close();
    client.close();

    // Assess
    expect(refused.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(accepted.error).toBeNull();
    // The service logs asynchronously: its line reaches stdout after the answer.
    const logged = (l: Record<string, unknown>) => l.msg === 'rpc' && l.method === 'GetDeviceStats' && l.code === 'OK';
    await waitFor(() => lines.some(logged), 'the call\'s log line');
    expect(lines.filter(logged)).toContainEqual(expect.objectContaining({ caller: CLIENT_ID }));
    expect(JSON.stringify(lines)).not.toContain(token);
  });

  it('serves no reflection in the cloud build', async () => {
    // Assess
    expect(lines.find((l) => l.msg === 'listening')).toMatchObject({ tls: true, reflection: false });
  });

  it('answers the bundled health client with SERVING', async () => {
    // Act
    const { stdout } = await run(process.execPath, [join(dist, 'health-client.mjs'), address]);

    // Assess
    expect(stdout).toContain('SERVING');
  });

  it('creates a device in DynamoDB and reads it back with GetDevice', async () => {
    // Prepare
    const client = newClient(address, { caPem: null, as: { token } });
    const created = await call(client, 'createDevice', { device: { name: 'bundled', type: 'pump' } });

    // Act
    const read = await call(client, 'getDevice', { id: created.response!.id });
    client.close();

    // Assess
    expect(created.error).toBeNull();
    expect(read.response).toMatchObject({ id: created.response!.id, name: 'bundled', version: '1' });
  });

  it('relays a change published on the internal IoT topic to WatchDevices', async () => {
    // Prepare
    const client = newClient(address, { caPem: null, as: { token } });
    const stream = client.watchDevices({});
    const seen: WatchDevicesResponse__Output[] = [];
    stream.on('data', (m: WatchDevicesResponse__Output) => seen.push(m));
    stream.on('error', () => undefined);
    await once(stream, 'metadata');
    const id = '33333333-3333-4333-8333-333333333333';
    const now = new Date().toISOString();
    const change = { changeType: 'UPDATED', changedAt: now, sequence: '1'.padStart(21, '0'), device: { id, name: 'from iot', type: 'pump', status: 'ONLINE', createdAt: now, updatedAt: now, metadata: {}, version: 3, readings: { t: 1 } } };

    // Act
    broker.publish({ cmd: 'publish', topic: changeTopic(id), payload: Buffer.from(JSON.stringify(change)), qos: 1, dup: false, retain: false }, () => undefined);
    await waitFor(() => seen.length === 1, 'the relayed change');
    stream.cancel();
    client.close();

    // Assess
    expect(seen[0]).toMatchObject({ changeType: 'CHANGE_TYPE_UPDATED', device: { id, name: 'from iot', version: '3' } });
  });

  it('turns NOT_SERVING when DynamoDB stops answering, and exits 0 on SIGTERM', async () => {
    // Act
    await dynamo.stop();
    await waitFor(() => lines.some((l) => l.msg === 'health' && l.status === 'NOT_SERVING'), 'NOT_SERVING', 20_000);
    const probe = await run(process.execPath, [join(dist, 'health-client.mjs'), address]).then(() => 0, (e: { code: number }) => e.code);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');

    // Assess
    expect(probe).toBe(1);
    expect(await exited).toBe(0);
    expect(lines.some((l) => l.msg === 'rpc' && l.method === 'GetDevice' && l.code === 'OK')).toBe(true);
  }, 30_000);
});

