import * as grpc from '@grpc/grpc-js';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localAccessTokenVerifier } from '../../src/grpc/access-token-verifier.js';
import { CALLER_METADATA_KEY } from '../../src/grpc/auth-interceptor.js';
import { DeviceServiceClient } from '../../src/grpc/proto.js';
import type { DeviceServiceClient as Client } from '../../src/generated/proto/iot/device/v1/DeviceService.js';
import { call, healthClient, newClient, startTestServer, testAuth, TOKENS, type As, type TestServer } from './helpers.js';

const ISSUER = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AuthTest';
const CLIENT_ID = 'internal-client';
const MISSING_ID = '99999999-9999-4999-8999-999999999999';

type Unary = 'createDevice' | 'getDevice' | 'listDevices' | 'updateDevice' | 'deleteDevice' | 'getDeviceStats';
const UNARY: Array<[Unary, object]> = [
  ['createDevice', { device: { name: 'n', type: 't' } }],
  ['getDevice', { id: MISSING_ID }],
  ['listDevices', {}],
  ['updateDevice', { device: { id: MISSING_ID, name: 'n' }, updateMask: { paths: ['name'] } }],
  ['deleteDevice', { id: MISSING_ID }],
  ['getDeviceStats', {}],
];

/** The status WatchDevices ends with (or, when it is accepted, OK after the test cancels it at its first metadata). */
function watchStatus(client: Client): Promise<grpc.status> {
  return new Promise((resolve) => {
    const stream = client.watchDevices({});
    stream.on('error', () => undefined);
    stream.on('metadata', () => {
      stream.cancel();
      resolve(grpc.status.OK);
    });
    stream.on('status', (s: grpc.StatusObject) => resolve(s.code));
  });
}

describe('gRPC authentication and authorization', () => {
  let t: TestServer;
  let signingKey: CryptoKey;
  /** A server that trusts ISSUER's key (a test user pool) as well as the test issuer through `t`. */
  let pool: TestServer;

  /** An access token of the test user pool with `claims` over the valid defaults. */
  async function poolToken(claims: Record<string, unknown> = {}, options: { expiresIn?: string; issuer?: string; key?: CryptoKey } = {}): Promise<string> {
    return new SignJWT({ token_use: 'access', client_id: CLIENT_ID, scope: 'devices/read devices/write', version: 2, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'pool' })
      .setIssuer(options.issuer ?? ISSUER)
      .setSubject(String(claims.client_id ?? CLIENT_ID))
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '5m')
      .sign(options.key ?? signingKey);
  }

  const clientAs = (server: TestServer, as: As) => newClient(server.server.address, { as });

  beforeAll(async () => {
    t = await startTestServer();
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    signingKey = privateKey;
    const jwk = { ...(await exportJWK(publicKey)), kid: 'pool', alg: 'RS256', use: 'sig' };
    pool = await startTestServer({ verifyToken: localAccessTokenVerifier({ issuer: ISSUER, jwk: jwk as never, clientIds: [CLIENT_ID] }) });
  });
  afterAll(async () => {
    await t?.close();
    await pool?.close();
  });

  describe('UNAUTHENTICATED', () => {
    it('answers every RPC without a token, before any handler runs', async () => {
      // Prepare
      const anonymous = clientAs(t, 'anonymous');
      const before = await t.repository.list({ limit: 100 });

      // Act
      const codes = await Promise.all(UNARY.map(async ([method, request]) => [method, (await call(anonymous, method, request as never)).error?.code]));
      const watch = await watchStatus(anonymous);
      anonymous.close();

      // Assess
      expect(Object.fromEntries(codes)).toEqual(Object.fromEntries(UNARY.map(([m]) => [m, grpc.status.UNAUTHENTICATED])));
      expect(watch).toBe(grpc.status.UNAUTHENTICATED);
      expect((await t.repository.list({ limit: 100 })).items.length).toBe(before.items.length);
    });

    it.each([
      ['a token signed with another key', () => poolTokenWithForeignKey()],
      ['an expired token', () => poolToken({}, { expiresIn: '-1m' })],
      ['a token of another issuer', () => poolToken({}, { issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other' })],
      ['a token of another app client', () => poolToken({ client_id: 'someone-else' })],
      ['an ID token instead of an access token', () => poolToken({ token_use: 'id' })],
      ['an alg=none token', async () => unsigned({ iss: ISSUER, token_use: 'access', client_id: CLIENT_ID, scope: 'devices/write', sub: CLIENT_ID, exp: Math.floor(Date.now() / 1000) + 300 })],
      ['a token whose signature was altered', async () => tamper(await poolToken())],
      ['a token whose payload was altered', async () => swapPayload(await poolToken({ scope: 'devices/read' }), { scope: 'devices/read devices/write' })],
      ['garbage', async () => 'not.a.jwt'],
    ])('answers every RPC given %s', async (_name, make) => {
      // Prepare
      const client = clientAs(pool, { token: await make() });

      // Act
      const codes = await Promise.all(UNARY.map(async ([method, request]) => (await call(client, method, request as never)).error?.code));
      const watch = await watchStatus(client);
      client.close();

      // Assess
      expect(new Set([...codes, watch])).toEqual(new Set([grpc.status.UNAUTHENTICATED]));
    });

    it('refuses a valid token sent without the Bearer scheme', async () => {
      // Prepare
      const client = clientAs(t, 'anonymous');
      const raw = new grpc.Metadata();
      raw.set('authorization', TOKENS.admin);

      // Act
      const plain = await call(client, 'getDeviceStats', {}, {}, raw);
      client.close();

      // Assess
      expect(plain.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    });
  });

  describe('PERMISSION_DENIED and OK', () => {
    it('lets a viewer read and watch, and refuses every write', async () => {
      // Prepare
      const viewer = clientAs(t, 'viewer');

      // Act
      const read = await call(viewer, 'getDeviceStats', {});
      const list = await call(viewer, 'listDevices', {});
      const watch = await watchStatus(viewer);
      const writes = await Promise.all(UNARY.slice(0, 5).filter(([m]) => ['createDevice', 'updateDevice', 'deleteDevice'].includes(m)).map(async ([m, r]) => (await call(viewer, m, r as never)).error?.code));
      viewer.close();

      // Assess
      expect(read.error).toBeNull();
      expect(list.error).toBeNull();
      expect(watch).toBe(grpc.status.OK);
      expect(writes).toEqual([grpc.status.PERMISSION_DENIED, grpc.status.PERMISSION_DENIED, grpc.status.PERMISSION_DENIED]);
    });

    it.each<[As, string]>([
      ['admin', 'the admin group'],
      ['service', 'the devices/read and devices/write scopes'],
    ])('creates, updates and deletes as %s (%s)', async (as) => {
      // Prepare
      const client = clientAs(t, as);

      // Act
      const created = await call(client, 'createDevice', { device: { name: `by ${String(as)}`, type: 'pump' } });
      const updated = await call(client, 'updateDevice', { device: { id: created.response!.id, name: 'renamed' }, updateMask: { paths: ['name'] } });
      const deleted = await call(client, 'deleteDevice', { id: created.response!.id });
      client.close();

      // Assess
      expect([created.error, updated.error, deleted.error]).toEqual([null, null, null]);
    });

    it('holds each scope to its own right: devices/write writes but does not read, devices/read reads but does not write', async () => {
      // Prepare
      const writer = clientAs(t, 'writer');
      const reader = clientAs(t, 'reader');

      // Act
      const written = await call(writer, 'createDevice', { device: { name: 'w', type: 'pump' } });
      const writerRead = await call(writer, 'getDevice', { id: written.response!.id });
      const readerRead = await call(reader, 'getDevice', { id: written.response!.id });
      const readerWrite = await call(reader, 'deleteDevice', { id: written.response!.id });
      writer.close();
      reader.close();

      // Assess
      expect(written.error).toBeNull();
      expect(writerRead.error?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(readerRead.error).toBeNull();
      expect(readerWrite.error?.code).toBe(grpc.status.PERMISSION_DENIED);
    });

    it('accepts a valid access token of the configured user pool and app client', async () => {
      // Prepare
      const client = clientAs(pool, { token: await poolToken() });

      // Act
      const { error } = await call(client, 'getDeviceStats', {});
      client.close();

      // Assess
      expect(error).toBeNull();
    });
  });

  it('answers grpc.health.v1 without a token', async () => {
    // Prepare
    const health = healthClient(t.server.address);

    // Act
    const status = await health.check('');
    health.close();

    // Assess
    expect(status).toBe('SERVING');
  });

  it('refuses a plaintext client: the server speaks TLS only', async () => {
    // Prepare
    const plaintext = new DeviceServiceClient(t.server.address, grpc.credentials.createInsecure()) as unknown as Client;

    // Act
    const { error } = await call(plaintext, 'getDeviceStats', {}, { deadline: Date.now() + 3_000 });
    plaintext.close();

    // Assess
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('refuses a client that does not trust the server certificate', async () => {
    // Prepare: a CA certificate that did not sign the server's.
    const { certificatePem: strangerCa } = await testAuth.ca.issueDeviceCertificate('stranger');
    const client = newClient(t.server.address, { caPem: strangerCa });

    // Act
    const { error } = await call(client, 'getDeviceStats', {}, { deadline: Date.now() + 3_000 });
    client.close();

    // Assess
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('names the caller, the RPC and the device in every call log line, and never the token', async () => {
    // Prepare
    const admin = clientAs(t, 'admin');
    const service = clientAs(t, 'service');
    const anonymous = clientAs(t, 'anonymous');
    const viewer = clientAs(t, 'viewer');
    const forged = new grpc.Metadata();
    forged.set(CALLER_METADATA_KEY, 'someone-important');
    t.logs.length = 0;

    // Act
    const created = await call(admin, 'createDevice', { device: { name: 'logged', type: 'pump' } });
    const id = created.response!.id;
    await call(service, 'getDevice', { id }, {}, forged);
    await call(anonymous, 'getDevice', { id });
    await call(viewer, 'deleteDevice', { id });
    for (const c of [admin, service, anonymous, viewer]) c.close();

    // Assess
    const rpcLines = t.logs.filter((l) => l.msg === 'rpc');
    const [adminSub, viewerSub] = [subOf(TOKENS.admin), subOf(TOKENS.viewer)];
    expect(rpcLines).toEqual([
      expect.objectContaining({ method: 'CreateDevice', code: 'OK', caller: adminSub, deviceId: id }),
      expect.objectContaining({ method: 'GetDevice', code: 'OK', caller: 'iot-platform-local-internal-client', deviceId: id }),
      expect.objectContaining({ method: 'GetDevice', code: 'UNAUTHENTICATED', caller: 'anonymous' }),
      expect.objectContaining({ method: 'DeleteDevice', code: 'PERMISSION_DENIED', caller: viewerSub }),
    ]);
    const text = JSON.stringify(t.logs);
    for (const token of Object.values(TOKENS)) expect(text).not.toContain(token.split('.')[2]);
    expect(text).not.toContain('someone-important');
  });

  it('never logs a token passed in metadata, whatever the header or scheme', async () => {
    // Prepare
    const anonymous = clientAs(t, 'anonymous');
    const admin = clientAs(t, 'admin');
    const token = TOKENS.admin;
    const wrongScheme = new grpc.Metadata();
    wrongScheme.set('authorization', `Token ${token}`);
    const lowercase = new grpc.Metadata();
    lowercase.set('authorization', `bearer ${token}`);
    const elsewhere = new grpc.Metadata();
    elsewhere.set('x-access-token', token);
    elsewhere.set('cookie', `session=${token}`);
    t.logs.length = 0;

    // Act
    const refused = [
      await call(anonymous, 'getDeviceStats', {}, {}, wrongScheme),
      await call(anonymous, 'getDeviceStats', {}, {}, lowercase),
      // The token as a field of the request: the call line names the (invalid) device id.
      await call(anonymous, 'getDevice', { id: token }),
    ];
    const accepted = await call(admin, 'getDevice', { id: token }, {}, elsewhere);
    for (const c of [anonymous, admin]) c.close();

    // Assess
    expect(refused.map((r) => r.error?.code)).toEqual([grpc.status.UNAUTHENTICATED, grpc.status.UNAUTHENTICATED, grpc.status.UNAUTHENTICATED]);
    expect(accepted.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(t.logs.filter((l) => l.msg === 'rpc')).toHaveLength(4);
    const text = JSON.stringify(t.logs);
    for (const secret of [TOKENS.admin, TOKENS.viewer]) for (const part of secret.split('.')) expect(text).not.toContain(part);
  });

  async function poolTokenWithForeignKey(): Promise<string> {
    const { privateKey } = await generateKeyPair('RS256');
    return poolToken({}, { key: privateKey });
  }
});

function subOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sub;
}

function unsigned(payload: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT', kid: 'pool' })}.${part(payload)}.`;
}

function tamper(token: string): string {
  const [header, payload, signature] = token.split('.');
  const bytes = Buffer.from(signature!, 'base64url');
  bytes[0] = bytes[0]! ^ 0xff;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
}

function swapPayload(token: string, claims: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.');
  const changed = { ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), ...claims };
  return `${header}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${signature}`;
}
