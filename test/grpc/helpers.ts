import { inMemoryAlarms } from '../../src/grpc/in-memory-alarms.js';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
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
  const logs: Record<string, unknown>[] = [];
  const server = await startDeviceServer({ registry, changes, alarms: inMemoryAlarms(repository), log: (entry) => logs.push({ ...entry }), ...definedOptions(options) });
  const client = newClient(server.address);
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

/** A generated DeviceService client. */
export function newClient(address: string, options: grpc.ChannelOptions = {}): Client {
  return new DeviceServiceClient(address, grpc.credentials.createInsecure(), options) as unknown as Client;
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

/** A grpc.health.v1 client whose `check(service)` resolves with the serving status name. */
export function healthClient(address: string) {
  const Ctor = grpc.makeGenericClientConstructor(healthService, 'Health');
  const client = new Ctor(address, grpc.credentials.createInsecure());
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
