/**
 * Environment of the gRPC service on Fargate, read once at start. A missing or malformed
 * variable fails fast with its name.
 */

/**
 * DynamoDB client limits of the service. The SDK sets no HTTP timeout by default, so a hung
 * request would hold its call (and a cancelled call's leftover work, see device-service.ts)
 * forever; with these, one request ends within 3 attempts of (1 s connect + 3 s request) plus
 * the SDK's retry backoff. Single-item calls answer in milliseconds, so 3 s is generous.
 */
export const DYNAMODB_CLIENT_LIMITS = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000, throwOnRequestTimeout: true },
} as const;

/** The service's settings. */
export interface GrpcServiceConfig {
  readonly devicesTableName: string;
  readonly statsTableName: string;
  readonly alarmsTableName: string;
  /** Exactly one of these two is set. */
  readonly pageTokenSecret?: string;
  readonly pageTokenSecretArn?: string;
  /** IoT data endpoint host for the change topics, or `describe` to look it up at start. */
  readonly iotEndpoint: string;
  /** Overrides the signed wss:// URL (a local broker); never set in the cloud. */
  readonly iotEndpointUrl?: string;
  readonly region: string;
  readonly host: string;
  readonly port: number;
  readonly shutdownGraceMs: number;
  readonly probeIntervalMs: number;
}

/** A configuration problem, naming the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Reads and checks the configuration from `env`. */
export function readConfig(env: NodeJS.ProcessEnv): GrpcServiceConfig {
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) throw new ConfigError(name, 'is required');
    return value;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(name, `must be an integer in ${min}..${max}, got "${raw}"`);
    return n;
  };
  const secret = env.PAGE_TOKEN_SECRET?.trim();
  const secretArn = env.PAGE_TOKEN_SECRET_ARN?.trim();
  if (!secret && !secretArn) throw new ConfigError('PAGE_TOKEN_SECRET', 'is required (or PAGE_TOKEN_SECRET_ARN naming a Secrets Manager secret)');
  if (secretArn && !secretArn.startsWith('arn:')) throw new ConfigError('PAGE_TOKEN_SECRET_ARN', 'must be a Secrets Manager ARN');
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim();
  if (!region) throw new ConfigError('AWS_REGION', 'is required');
  const iotEndpointUrl = env.IOT_ENDPOINT_URL?.trim();
  return {
    devicesTableName: required('DEVICES_TABLE_NAME'),
    statsTableName: required('STATS_TABLE_NAME'),
    alarmsTableName: required('ALARMS_TABLE_NAME'),
    ...(secret ? { pageTokenSecret: secret } : { pageTokenSecretArn: secretArn! }),
    iotEndpoint: required('IOT_ENDPOINT'),
    ...(iotEndpointUrl && { iotEndpointUrl }),
    region,
    host: env.HOST?.trim() || '0.0.0.0',
    port: integer('PORT', 50051, 0, 65535),
    shutdownGraceMs: integer('SHUTDOWN_GRACE_MS', 20_000, 0, 120_000),
    probeIntervalMs: integer('HEALTH_PROBE_INTERVAL_MS', 10_000, 100, 300_000),
  };
}
