/** The gRPC DeviceService container's environment: set by lib/device-service.ts, read once at start. */
import { ConfigError, configReader, type Environment } from '../config-reader.js';
import { ALARMS_TABLE, COMMANDS_TABLE, DEVICES_TABLE, STATS_TABLE, TWINS_TABLE } from '../tables.js';
import { LOG_LEVELS, type LogLevel } from '../log-levels.js';
import { readPageTokenSecretSource, type PageTokenSecretSource } from './page-token-secret.js';
import { readRegion } from './region.js';
import { readTelemetryStore, type TelemetryStoreLocation } from './telemetry-store.js';
import { VARIABLES } from './variables.js';

/** Variables only the service reads. */
export const DEVICE_SERVICE_VARIABLES = {
  /** IoT data endpoint host of the change topics, or `describe` to look it up at start. */
  iotEndpoint: 'IOT_ENDPOINT',
  /** Overrides the signed wss:// URL (a local broker); never set in the cloud. */
  iotEndpointUrl: 'IOT_ENDPOINT_URL',
  host: 'HOST',
  port: 'PORT',
  /** How long a SIGTERM waits for calls to finish. */
  shutdownGraceMs: 'SHUTDOWN_GRACE_MS',
  healthProbeIntervalMs: 'HEALTH_PROBE_INTERVAL_MS',
  /** The user pool whose access tokens are accepted. */
  userPoolId: 'USER_POOL_ID',
  /** Comma-separated app client ids whose access tokens are accepted (web and internal clients). */
  accessTokenClientIds: 'ACCESS_TOKEN_CLIENT_IDS',
  /** `enabled` turns server reflection on; the cloud build sets `disabled`. */
  reflection: 'GRPC_REFLECTION',
  /** Lowest severity written: debug, info, warn or error (default info). */
  logLevel: 'LOG_LEVEL',
  /** Where the user pool's JWKS is fetched instead of Cognito (an emulator), as the SDK honours it; never set in the cloud. */
  cognitoEndpointUrl: 'AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER',
} as const;

/** Values of GRPC_REFLECTION. */
export const REFLECTION_SETTINGS = ['enabled', 'disabled'] as const;

/** The IOT_ENDPOINT value that makes the service look the endpoint up (iot:DescribeEndpoint). */
export const DESCRIBE_IOT_ENDPOINT = 'describe';

/** The port the service listens on unless PORT says otherwise. */
export const DEFAULT_GRPC_PORT = 50051;

/** The service's settings. */
export interface DeviceServiceEnvironment {
  readonly devicesTableName: string;
  readonly statsTableName: string;
  /** Commands and Twins tables; both set (by the stack) or the command and twin RPCs answer UNIMPLEMENTED. */
  readonly deviceControl?: { readonly commandsTableName: string; readonly twinsTableName: string };
  readonly alarmsTableName: string;
  /** Where GetTelemetry reads; absent: GetTelemetry answers UNIMPLEMENTED. */
  readonly telemetry?: TelemetryStoreLocation;
  readonly pageTokenSecret: PageTokenSecretSource;
  /** IoT data endpoint host for the change topics, or `describe` to look it up at start. */
  readonly iotEndpoint: string;
  /** Overrides the signed wss:// URL (a local broker); never set in the cloud. */
  readonly iotEndpointUrl?: string;
  readonly region: string;
  readonly host: string;
  readonly port: number;
  readonly shutdownGraceMs: number;
  readonly probeIntervalMs: number;
  /** Cognito user pool whose access tokens are accepted. */
  readonly userPoolId: string;
  /** App clients whose access tokens are accepted. */
  readonly accessTokenClientIds: readonly string[];
  /** Server reflection (off unless GRPC_REFLECTION=enabled). */
  readonly reflection: boolean;
  /** Where the JWKS is fetched instead of Cognito's host (an emulator); never set in the cloud. */
  readonly cognitoEndpointUrl?: string;
  /** Lowest severity the service writes. */
  readonly logLevel: LogLevel;
}

/** Reads the environment; throws ConfigError naming the first missing or invalid variable. */
export function readDeviceServiceEnvironment(env: Environment = process.env): DeviceServiceEnvironment {
  const read = configReader(env);
  const v = DEVICE_SERVICE_VARIABLES;
  const iotEndpointUrl = read.optional(v.iotEndpointUrl);
  const userPoolId = read.required(v.userPoolId);
  if (!/^[\w-]+_[0-9a-zA-Z]+$/.test(userPoolId)) throw new ConfigError(v.userPoolId, `must be a user pool id such as us-east-1_AbC123, got "${userPoolId.slice(0, 60)}"`);
  const accessTokenClientIds = read
    .required(v.accessTokenClientIds)
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  if (accessTokenClientIds.length === 0) throw new ConfigError(v.accessTokenClientIds, 'must name at least one app client id');
  const reflection = read.optional(v.reflection) === undefined ? 'disabled' : read.oneOf(v.reflection, REFLECTION_SETTINGS);
  const cognitoEndpointUrl = read.optional(v.cognitoEndpointUrl);
  return {
    devicesTableName: read.required(DEVICES_TABLE.tableNameEnv),
    statsTableName: read.required(STATS_TABLE.tableNameEnv),
    ...(read.optional(COMMANDS_TABLE.tableNameEnv) !== undefined && {
      deviceControl: { commandsTableName: read.required(COMMANDS_TABLE.tableNameEnv), twinsTableName: read.required(TWINS_TABLE.tableNameEnv) },
    }),
    alarmsTableName: read.required(ALARMS_TABLE.tableNameEnv),
    // Set by the stack when the service reads telemetry (GetTelemetry); UNIMPLEMENTED otherwise.
    ...(read.optional(VARIABLES.telemetryStore) !== undefined && { telemetry: readTelemetryStore(read) }),
    pageTokenSecret: readPageTokenSecretSource(read),
    iotEndpoint: read.required(v.iotEndpoint),
    ...(iotEndpointUrl && { iotEndpointUrl }),
    region: readRegion(read),
    host: read.optional(v.host) ?? '0.0.0.0',
    port: read.integer(v.port, { fallback: DEFAULT_GRPC_PORT, min: 0, max: 65_535 }),
    shutdownGraceMs: read.integer(v.shutdownGraceMs, { fallback: 20_000, min: 0, max: 120_000 }),
    probeIntervalMs: read.integer(v.healthProbeIntervalMs, { fallback: 10_000, min: 100, max: 300_000 }),
    userPoolId,
    accessTokenClientIds,
    reflection: reflection === 'enabled',
    ...(cognitoEndpointUrl && { cognitoEndpointUrl }),
    logLevel: readDeviceServiceLogLevel(env),
  };
}

/** LOG_LEVEL alone (info when unset), so the logger exists before the rest is read; throws ConfigError when invalid. */
export function readDeviceServiceLogLevel(env: Environment = process.env): LogLevel {
  const read = configReader(env);
  return read.optional(DEVICE_SERVICE_VARIABLES.logLevel) === undefined ? 'info' : read.oneOf(DEVICE_SERVICE_VARIABLES.logLevel, LOG_LEVELS);
}
