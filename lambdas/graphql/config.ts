/** Configuration of the GraphQL resolver Lambda, read once from the environment at cold start. */
import { requiredVariable } from '../../src/config/env.js';

/** Settings the resolver Lambda runs with. */
export interface GraphqlConfig {
  /** Devices table (DEVICES_TABLE_NAME, set by Storage.grantDevicesReadWrite). */
  readonly devicesTableName: string;
  /** Stats table (STATS_TABLE_NAME, set by Storage.grantStatsRead). */
  readonly statsTableName: string;
  /** Alarms table (ALARMS_TABLE_NAME, set by Storage.grant). */
  readonly alarmsTableName: string;
  /** Where telemetry is read (TELEMETRY_STORE, set by IngestPipeline.grantTelemetryRead). */
  readonly telemetry:
    | { readonly store: 'dynamodb'; readonly tableName: string }
    | { readonly store: 'timestream'; readonly databaseName: string; readonly tableName: string };
  /** Page-token secret: the value itself (PAGE_TOKEN_SECRET) or a Secrets Manager ARN (PAGE_TOKEN_SECRET_ARN). */
  readonly pageTokenSecret: { readonly value: string } | { readonly arn: string };
}

/** Reads the configuration; throws naming the first missing variable, so a misdeployed function fails fast. */
export function readGraphqlConfig(env: NodeJS.ProcessEnv = process.env): GraphqlConfig {
  const required = requiredVariable(env);
  const pageTokenSecret = env.PAGE_TOKEN_SECRET
    ? { value: env.PAGE_TOKEN_SECRET }
    : { arn: required('PAGE_TOKEN_SECRET_ARN') };
  return {
    devicesTableName: required('DEVICES_TABLE_NAME'),
    statsTableName: required('STATS_TABLE_NAME'),
    alarmsTableName: required('ALARMS_TABLE_NAME'),
    telemetry: telemetryConfig(required),
    pageTokenSecret,
  };
}

function telemetryConfig(required: (name: string) => string): GraphqlConfig['telemetry'] {
  const store = required('TELEMETRY_STORE');
  if (store === 'dynamodb') return { store, tableName: required('TELEMETRY_TABLE_NAME') };
  if (store === 'timestream') {
    return { store, databaseName: required('TIMESTREAM_DATABASE_NAME'), tableName: required('TIMESTREAM_TABLE_NAME') };
  }
  throw new Error(`Invalid environment variable TELEMETRY_STORE=${store}: use dynamodb or timestream`);
}
