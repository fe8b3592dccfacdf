/**
 * The gRPC server: DeviceService over the domain core, TLS only, bearer-token authentication
 * of every call but grpc.health.v1, grpc.health.v1, optional server reflection, message-size
 * and keepalive limits, and a graceful shutdown.
 */
import { cachedTokenVerifier } from './cached-token-verifier.js';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { reflectionDescriptors } from './reflection-descriptors.js';
import * as protoLoader from '@grpc/proto-loader';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import type { ChangeSource } from '../ports/change-feed.js';
import type { BusConnection } from '../ports/message-bus.js';
import type { AccessTokenVerifier } from './access-token-verifier.js';
import { authInterceptor } from './auth-interceptor.js';
import type { CallContext } from './call-guard.js';
import type { Logger } from '../ports/logger.js';
import type { TelemetryHistory } from '../domain/telemetry-history.js';
import { createDeviceServiceHandlers, type DeviceControlPorts, type DeviceRegistryPort } from './device-service.js';
import type { AlarmServicePort } from './alarm-handlers.js';
import type { AlarmTransitionSource } from './watch-alarms.js';
import { receiveBudgetInterceptor, type ReceiveBudgetState } from './receive-budget.js';
import { startHealthMonitor, type HealthMonitor, type HealthProbe } from './health-monitor.js';
import { DEVICE_SERVICE_NAME, deviceServiceDefinition, packageDefinition } from './proto.js';
import { CHANGES_UNAVAILABLE, type WatchHub, type WatchOptions } from './watch-devices.js';
import { REFUSAL_CODES } from './error-mapper.js';

/**
 * Largest request grpc-js hands to our deserializer. It is a transport bound, not a validity one:
 * the largest VALID request (a Device with 50 metadata entries of 128 + 1,024 characters plus
 * name and type, at up to 4 UTF-8 bytes per character) is ~0.25 MB. It sits a little above the
 * 10 MB malformed request we promise to classify (e.g. a Device.metadata value of 10 MB), so such a request reaches the wire check and gets INVALID_ARGUMENT naming the broken
 * rule. Anything larger gets RESOURCE_EXHAUSTED from grpc-js before any handler runs: its
 * StreamDecoder throws and the base call sends that status itself (server-interceptors.js,
 * handleDataFrame), where no server interceptor can change the code.
 * Memory: grpc-js buffers a request whole before deserializing, so a call holds at most this
 * much; the wire check then refuses an oversized map without decoding it (a broken metadata
 * rule never builds more than 51 keys of at most 512 bytes).
 */
export const MAX_RECEIVE_MESSAGE_BYTES = 16 * 1024 * 1024;
/**
 * Request bytes all calls together may be receiving at once (see receive-budget.ts): 8 calls of
 * up to MAX_RECEIVE_MESSAGE_BYTES. Without it the worst case would be max_concurrent_streams x
 * connections x 16 MiB (16 GiB on ONE connection), which no task size bounds. Valid requests are
 * small and received within a tick, so 8 receivers are enough: others wait their turn, paused.
 */
export const RECEIVE_BUDGET_BYTES = 8 * MAX_RECEIVE_MESSAGE_BYTES;
/**
 * HTTP/2 streams per connection. bench/grpc.ts opens its 10,000 WatchDevices streams 200 per
 * channel (50 connections). It does not
 * bound request memory by itself (RECEIVE_BUDGET_BYTES does); it bounds what one connection's
 * streams waiting for the receive budget can hold in the transport: 256 x the 64 KiB HTTP/2
 * stream window = 16 MiB. A caller needing more streams opens more channels.
 */
export const MAX_CONCURRENT_STREAMS = 256;
/** Largest response sent (a 100-device page of large devices stays well below). */
export const MAX_SEND_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Default time in-flight calls get to finish on shutdown; below ECS' 30 s stop timeout default. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 20_000;

/** grpc-js server options: message sizes, keepalive (the NLB drops idle flows after 350 s). */
export const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_SEND_MESSAGE_BYTES,
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  'grpc.max_concurrent_streams': MAX_CONCURRENT_STREAMS,
};

/** The server's TLS identity, PEM-encoded. */
export interface ServerTlsIdentity {
  /** The server certificate, followed by any intermediates. */
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
}

/** Options of {@link startDeviceServer}. */
export interface DeviceServerOptions {
  readonly registry: DeviceRegistryPort;
  /** The server speaks TLS only: there is no plaintext mode. */
  readonly tls: ServerTlsIdentity;
  /** Verifies the bearer token every call but grpc.health.v1 must carry. */
  readonly verifyToken: AccessTokenVerifier;
  /** Serve grpc.reflection (locally yes; the cloud build leaves it off). @default false */
  readonly reflection?: boolean;
  /** With a connection state (a bus subscription), losing it ends every WatchDevices stream. */
  readonly changes: ChangeSource & Partial<BusConnection>;
  /** The alarm use cases and the transitions WatchAlarms relays (from the same bus as `changes`). */
  readonly alarms: { readonly service: AlarmServicePort; readonly transitions: AlarmTransitionSource };
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** Where call and lifecycle lines go (pino in the service, the line logger locally). */
  readonly log: Logger;
  /** Dependency probe behind the health service; always SERVING when absent. */
  readonly probe?: HealthProbe;
  /** @default 10_000 */
  readonly probeIntervalMs?: number;
  readonly watch?: WatchOptions;
  /** Commands and twins; their RPCs answer UNIMPLEMENTED without it. */
  readonly control?: DeviceControlPorts;
  /** Telemetry reads; GetTelemetry answers UNIMPLEMENTED without it. */
  readonly telemetry?: Pick<TelemetryHistory, 'query'>;
  /** @default RECEIVE_BUDGET_BYTES */
  readonly receiveBudgetBytes?: number;
  /** Longest a call may take to send its request once admitted. @default 10_000 */
  readonly receiveTimeoutMs?: number;
  /** Overrides of {@link SERVER_OPTIONS}. */
  readonly serverOptions?: grpc.ServerOptions;
}

/** A started server. */
export interface DeviceServer {
  readonly port: number;
  /** host:port for clients. */
  readonly address: string;
  readonly health: HealthMonitor;
  readonly watchers: WatchHub;
  readonly receiveBudget: ReceiveBudgetState;
  /**
   * Stops accepting calls, lets in-flight unary calls finish, ends WatchDevices streams with
   * UNAVAILABLE "server shutting down", and forces the rest closed after `graceMs`.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** Starts the server and resolves once it listens. */
export async function startDeviceServer(options: DeviceServerOptions): Promise<DeviceServer> {
  const log = options.log;
  const context: CallContext = { log, inFlight: 0 };
  const serverOptions = { ...SERVER_OPTIONS, ...options.serverOptions };
  const receiveBudget = receiveBudgetInterceptor({
    budgetBytes: options.receiveBudgetBytes ?? RECEIVE_BUDGET_BYTES,
    maxMessageBytes: serverOptions['grpc.max_receive_message_length'] ?? MAX_RECEIVE_MESSAGE_BYTES,
    ...(options.receiveTimeoutMs !== undefined && { receiveTimeoutMs: options.receiveTimeoutMs }),
  });
  // The first interceptor sees a call's metadata first: authentication comes before the receive
  // budget, so an unauthenticated caller never holds a share of it.
  const auth = authInterceptor({ verify: cachedTokenVerifier(options.verifyToken), log });
  const server = new grpc.Server({ ...serverOptions, interceptors: [auth, receiveBudget.interceptor, ...(serverOptions.interceptors ?? [])] });
  const { handlers, watchers, alarmWatchers, commandWatchers } = createDeviceServiceHandlers({
    registry: options.registry,
    changes: options.changes,
    alarms: options.alarms,
    context,
    ...(options.watch && { watch: options.watch }),
    ...(options.control && { control: options.control }),
    ...(options.telemetry && { telemetry: options.telemetry }),
  });
  server.addService(deviceServiceDefinition, handlers);
  const healthImpl = new HealthImplementation({ '': 'NOT_SERVING', [DEVICE_SERVICE_NAME]: 'NOT_SERVING' });
  healthImpl.addToServer(server);
  if (options.reflection) {
    // Reflection describes the health service too, so `grpcurl ... grpc.health.v1.Health/Check` works.
    const healthDefinition = protoLoader.loadSync(healthProtoPath, { keepCase: true });
    new ReflectionService(reflectionDescriptors({ ...packageDefinition, ...healthDefinition })).addToServer(server);
  }
  const credentials = grpc.ServerCredentials.createSsl(
    null,
    [{ cert_chain: Buffer.from(options.tls.certificateChainPem), private_key: Buffer.from(options.tls.privateKeyPem) }],
    false,
  );

  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${options.port ?? 0}`, credentials, (error, bound) =>
      // grpc-js reports a taken port only in the message; give it the errno code callers check.
      error ? reject(/EADDRINUSE/.test(error.message) ? Object.assign(error, { code: 'EADDRINUSE' }) : error) : resolve(bound),
    ),
  );
  const health = await startHealthMonitor({
    health: healthImpl,
    services: [DEVICE_SERVICE_NAME],
    ...(options.probe && { probe: options.probe }),
    ...(options.probeIntervalMs !== undefined && { intervalMs: options.probeIntervalMs }),
    log,
  });
  // With a clean MQTT session, changes published while the subscription is down are lost: a
  // watcher must not go on believing it saw them all, so its stream ends (the client re-lists
  // and re-watches) and the DeviceService reports NOT_SERVING until the bus has resubscribed.
  const changes = options.changes;
  health.setChangesConnected(changes.connected ?? true);
  const stopWatchingConnection = changes.onConnectionChange?.((connected) => {
    health.setChangesConnected(connected);
    if (!connected) {
      log.warn('change subscription lost', { streams: watchers.size });
      watchers.closeAll(CHANGES_UNAVAILABLE);
      alarmWatchers.closeAll({ code: CHANGES_UNAVAILABLE.code, details: 'alarm subscription lost: transitions may have been missed; list alarms again, then watch again' });
    }
  });
  log.info('listening', { host, port, tls: true, reflection: Boolean(options.reflection) });

  let stopping: Promise<void> | undefined;
  const shutdown = (graceMs = DEFAULT_SHUTDOWN_GRACE_MS): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      const started = performance.now();
      log.info('shutdown', { inFlight: context.inFlight, streams: watchers.size, graceMs });
      stopWatchingConnection?.();
      health.stop();
      watchers.closeAll({ code: REFUSAL_CODES.shuttingDown, details: 'server shutting down' });
      alarmWatchers.closeAll({ code: REFUSAL_CODES.shuttingDown, details: 'server shutting down' });
      commandWatchers.closeAll({ code: REFUSAL_CODES.shuttingDown, details: 'server shutting down' });
      let done = false;
      const finish = (forced: boolean): void => {
        if (done) return;
        done = true;
        clearTimeout(force);
        clearInterval(poll);
        if (forced) server.forceShutdown();
        log.info('stopped', { forced, inFlight: context.inFlight, durationMs: Math.round(performance.now() - started) });
        resolve();
      };
      const force = setTimeout(() => finish(true), graceMs);
      // Open health Watch / reflection streams never end on their own: once our own calls are
      // done, close what is left instead of waiting out the grace period.
      // Two quiet polls in a row, so the last statuses handed to grpc-js reach the socket.
      let quiet = 0;
      const poll = setInterval(() => {
        quiet = context.inFlight === 0 && watchers.size === 0 && alarmWatchers.size === 0 ? quiet + 1 : 0;
        if (quiet >= 2) {
          server.forceShutdown();
          finish(false);
        }
      }, 25);
      server.tryShutdown(() => finish(false));
    });
    return stopping;
  };

  return { port, address: `${host}:${port}`, health, watchers, receiveBudget: receiveBudget.state, shutdown };
}
