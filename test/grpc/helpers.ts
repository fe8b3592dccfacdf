import { inMemoryAlarms } from '../../src/grpc/in-memory-alarms.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { DEVICES_SCOPES } from '../../src/contracts/grpc-access.js';
import { LOCAL_CLIENT_IDS, LOCAL_ISSUER, LocalTokenIssuer } from '../../src/local/appsync/local-token-issuer.js';
import { localAccessTokenVerifier } from '../../src/grpc/access-token-verifier.js';
import { openLocalCa } from '../../src/local/iot-core/ca.js';
import { InMemoryDeviceRepository } from '../../src/adapters/memory/in-memory-device-repository.js';
import { InMemoryStats } from '../../src/adapters/memory/in-memory-stats.js';
import { DeviceRegistry } from '../../src/domain/device-registry.js';
import { createPageTokenCodec } from '../../src/domain/page-token.js';
import type { DeviceRepository } from '../../src/ports/device-repository.js';
import type { DeviceServiceClient as Client } from '../../src/generated/proto/iot/device/v1/DeviceService.js';
import type { WatchDevicesResponse__Output } from '../../src/generated/proto/iot/device/v1/WatchDevicesResponse.js';
import { ChangeFanout } from '../../src/grpc/change-fanout.js';
import { DeviceServiceClient } from '../../src/grpc/proto.js';
import { startDeviceServer, type DeviceServer, type DeviceServerOptions } from '../../src/grpc/server.js';
import { recordingLogger } from '../support/recording-logger.js';

/**
 * TLS and token material shared by every gRPC test of this process: one local CA (its server
 * certificate is the server's identity, its CA certificate what clients trust) and one token
 * issuer (the local Cognito stand-in). Tokens are minted once here, so clients are made in one
 * synchronous call.
 */
const caDir = mkdtempSync(join(tmpdir(), 'grpc-test-ca-'));
process.once('exit', () => rmSync(caDir, { recursive: true, force: true }));
const ca = await openLocalCa(caDir);
const issuer = await LocalTokenIssuer.forProcess();

/** The callers tests act as: people by Cognito group, machines by scope. */
export const TOKENS = {
  /** Cognito group admin: every RPC. */
  admin: await issuer.issue({ user: 'grpc-admin', groups: ['admin'], tokenUse: 'access' }),
  /** Cognito group viewer: reads and WatchDevices only. */
  viewer: await issuer.issue({ user: 'grpc-viewer', groups: ['viewer'], tokenUse: 'access' }),
  /** Machine caller with devices/read and devices/write. */
  service: await issuer.issueForClient({ scopes: [DEVICES_SCOPES.read, DEVICES_SCOPES.write] }),
  /** Machine caller with devices/read only. */
  reader: await issuer.issueForClient({ scopes: [DEVICES_SCOPES.read] }),
  /** Machine caller with devices/write only. */
  writer: await issuer.issueForClient({ scopes: [DEVICES_SCOPES.write] }),
} as const;

/** Who a test client calls as: one of {@link TOKENS}, a raw token, or no token at all. */
export type As = keyof typeof TOKENS | { token: string } | 'anonymous';

/** What a test server needs: the TLS identity and the verifier of the test issuer's tokens. */
export const testAuth = {
  ca,
  issuer,
  tls: { certificateChainPem: ca.server.certificatePem, privateKeyPem: ca.server.privateKeyPem },
  verifyToken: localAccessTokenVerifier({ issuer: LOCAL_ISSUER, jwk: issuer.publicJwk as never, clientIds: LOCAL_CLIENT_IDS }),
};

/**
 * Channel credentials trusting the test CA (or `caPem`), with `as`'s token on every call.
 * `caPem: null` encrypts without verifying the server, as the NLB treats a Fargate task's
 * own certificate.
 */
export function channelCredentials(as: As = 'admin', caPem: string | null = ca.caCertificatePem): grpc.ChannelCredentials {
  const tls = caPem === null ? grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false }) : grpc.credentials.createSsl(Buffer.from(caPem));
  if (as === 'anonymous') return tls;
  const token = typeof as === 'string' ? TOKENS[as] : as.token;
  return grpc.credentials.combineChannelCredentials(tls, bearer(token));
}

/** Call credentials adding `authorization: Bearer <token>`. */
export function bearer(token: string): grpc.CallCredentials {
  return grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    callback(null, metadata);
  });
}

/** A server over in-memory ports plus a real client, for one test. */
export interface TestServer {
  readonly server: DeviceServer;
  readonly client: Client;
  readonly repository: InMemoryDeviceRepository;
  readonly changes: ChangeFanout;
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1:0 with an in-memory registry whose changes feed `changes`. */
export async function startTestServer(
  options: { wrapRepository?: (repo: DeviceRepository) => DeviceRepository } & Partial<DeviceServerOptions> = {},
): Promise<TestServer> {
  const changes = new ChangeFanout();
  const stats = new InMemoryStats();
  const repository = new InMemoryDeviceRepository({
    onChange: async (change) => {
      await stats.apply(change);
      changes.emit(change);
    },
  });
  const registry = new DeviceRegistry({
    repository: options.wrapRepository ? options.wrapRepository(repository) : repository,
    stats,
    pageTokens: createPageTokenCodec('test-secret-test-secret-test-secret'),
  });
  const logger = recordingLogger();
  const logs = logger.lines;
  const server = await startDeviceServer({
    registry,
    changes,
    alarms: inMemoryAlarms(repository),
    log: logger,
    tls: testAuth.tls,
    verifyToken: testAuth.verifyToken,
    reflection: true,
    ...definedOptions(options),
  });
  const client = newClient(server.address);
  // Connect (TLS handshake) now, so a test's deadline measures its call and not the handshake.
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 20_000, (error) => (error ? reject(error) : resolve())));
  return {
    server,
    client,
    repository,
    changes,
    logs,
    async close() {
      client.close();
      await server.shutdown(1_000);
    },
  };
}

/**
 * A generated DeviceService client over TLS, calling as `as` (admin by default). `caPem` is the
 * CA the server's certificate chains to: the test CA unless given (a local platform's own CA).
 */
export function newClient(address: string, options: grpc.ChannelOptions & { as?: As; caPem?: string | null } = {}): Client {
  const { as, caPem, ...channelOptions } = options;
  return new DeviceServiceClient(address, channelCredentials(as, caPem), channelOptions) as unknown as Client;
}

type UnaryMethod = 'createDevice' | 'getDevice' | 'listDevices' | 'updateDevice' | 'deleteDevice' | 'getDeviceStats';
type RequestOf<M extends UnaryMethod> = Parameters<Client[M]>[0];
type ResponseOf<M extends UnaryMethod> = Parameters<Client[M]>[1] extends grpc.requestCallback<infer R> ? R : never;

/** Calls one unary method of `client` and resolves with { error, response }. */
export function call<M extends UnaryMethod>(
  client: Client,
  method: M,
  request: RequestOf<M>,
  options: grpc.CallOptions = {},
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<{ error: grpc.ServiceError | null; response: ResponseOf<M> | undefined }> {
  return new Promise((resolve) => {
    const fn = client[method] as unknown as (r: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v?: ResponseOf<M>) => void) => void;
    fn.call(client, request, metadata, options, (error, response) => resolve({ error, response }));
  });
}

/** Resolves with the value of the first event `event` on `emitter`. */
export function once<T = unknown>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, resolve));
}

/** Polls `condition` until true (no wall-clock assertions: only a bound on waiting). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A grpc.health.v1 client (TLS, no token: health needs none) whose `check(service)` resolves with the serving status name. */
export function healthClient(address: string, caPem: string = ca.caCertificatePem) {
  const Ctor = grpc.makeGenericClientConstructor(healthService, 'Health');
  const client = new Ctor(address, channelCredentials('anonymous', caPem));
  const check = (service: string) =>
    new Promise<string>((resolve, reject) =>
      (client.check as unknown as (r: unknown, cb: (e: Error | null, v?: { status: string }) => void) => void).call(client, { service }, (e, v) =>
        e ? reject(e) : resolve(v!.status),
      ),
    );
  return { check, close: () => client.close() };
}

/** Opens WatchDevices on `client` and records what it receives and how it ends. */
export function watchChanges(client: Client, deviceIds: string[] = []) {
  const stream = client.watchDevices({ deviceIds });
  const seen: WatchDevicesResponse__Output[] = [];
  let status: grpc.StatusObject | undefined;
  stream.on('data', (m: WatchDevicesResponse__Output) => seen.push(m));
  stream.on('status', (s: grpc.StatusObject) => (status = s));
  stream.on('error', () => undefined);
  return { stream, seen, status: () => status };
}

function definedOptions<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
