/**
 * The gRPC step of the local platform (`iotctl local`): the same server as on Fargate, over the
 * platform's registry, with WatchDevices relaying the change topics of the local broker's bus
 * (where the local change feed publishes every change, as the events Lambda does to IoT Core).
 * It serves TLS with the local CA's server certificate (the broker's), accepts access tokens of
 * the local issuer (`iotctl token`) as the cloud accepts the user pool's, and offers reflection.
 */
import type { LocalCa } from '../local/iot-core/ca.js';
import { LOCAL_CLIENT_IDS, LOCAL_ISSUER, type LocalTokenIssuer } from '../local/appsync/local-token-issuer.js';
import { localAccessTokenVerifier } from './access-token-verifier.js';
import type { DeviceRegistryPort } from './device-service.js';
import type { MessageBus } from '../ports/message-bus.js';
import type { LogFields, Logger } from '../ports/logger.js';
import { subscribeToChanges } from './message-bus-change-source.js';
import { subscribeToCommandChanges } from './command-change-source.js';
import type { DeviceControlPorts } from './device-service.js';
import type { TelemetryHistory } from '../domain/telemetry-history.js';
import { startDeviceServer } from './server.js';
import type { AlarmServicePort } from './alarm-handlers.js';
import { subscribeToAlarms } from './watch-alarms.js';

/** Options of {@link startLocalGrpc}. */
export interface LocalGrpcOptions {
  readonly registry: DeviceRegistryPort;
  /** Commands and twins (their transitions come from the bus). */
  readonly control?: Omit<DeviceControlPorts, 'commandChanges'>;
  readonly alarms: AlarmServicePort;
  /** Telemetry reads (GetTelemetry). */
  readonly telemetry?: Pick<TelemetryHistory, 'query'>;
  readonly bus: MessageBus;
  readonly host: string;
  readonly port: number;
  /** Its server certificate is the TLS identity; clients trust its CA certificate. */
  readonly ca: Pick<LocalCa, 'server'>;
  /** The local Cognito stand-in whose access tokens are accepted. */
  readonly issuer: Pick<LocalTokenIssuer, 'publicJwk'>;
  /** The platform's line logger. */
  readonly log: (line: string) => void;
}

/** A running local gRPC server. */
export interface LocalGrpc {
  /** host:port */
  readonly address: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts the server; per-call log entries become `grpc: Method CODE caller device 1.2ms` lines. */
export async function startLocalGrpc(options: LocalGrpcOptions): Promise<LocalGrpc> {
  const line =
    (loud: boolean) =>
    (message: string, ...extra: LogFields[]): void => {
      const entry = Object.assign({}, ...extra) as LogFields;
      if (message === 'rpc') {
        const device = entry.deviceId ? ` device=${String(entry.deviceId)}` : '';
        options.log(`grpc: ${String(entry.method)} ${String(entry.code)} caller=${String(entry.caller)}${device} ${String(entry.durationMs)}ms`);
      } else if (loud) options.log(`grpc: ${message} ${JSON.stringify(entry)}`);
    };
  // Calls get one short line each; lifecycle lines only when something is wrong.
  const sink: Logger = { debug: line(false), info: line(false), warn: line(true), error: line(true) };
  const changes = await subscribeToChanges(options.bus, sink);
  const transitions = await subscribeToAlarms(options.bus, sink);
  const commandChanges = await subscribeToCommandChanges(options.bus, sink);
  const close = async () => {
    await changes.close();
    await commandChanges.close();
    await transitions.close();
  };
  try {
    const server = await startDeviceServer({
      registry: options.registry,
      changes,
      ...(options.control && { control: { ...options.control, commandChanges } }),
      ...(options.telemetry && { telemetry: options.telemetry }),
      alarms: { service: options.alarms, transitions },
      host: options.host,
      port: options.port,
      log: sink,
      tls: { certificateChainPem: options.ca.server.certificatePem, privateKeyPem: options.ca.server.privateKeyPem },
      verifyToken: localAccessTokenVerifier({ issuer: LOCAL_ISSUER, jwk: options.issuer.publicJwk as never, clientIds: LOCAL_CLIENT_IDS }),
      reflection: true,
    });
    return {
      address: server.address,
      port: server.port,
      async stop() {
        await server.shutdown(2_000);
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}
