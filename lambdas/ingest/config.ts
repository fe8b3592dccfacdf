/** Configuration of the ingest Lambda, read once from the environment at cold start. */
import { requiredVariable } from '../../src/config/env.js';

/** Which telemetry store the function writes to (the stack's `telemetryStore` flag). */
export type TelemetryStoreKind = 'dynamodb' | 'timestream';

/** Settings the ingest Lambda runs with. */
export type IngestConfig = {
  /** Devices table (DEVICES_TABLE_NAME). */
  readonly devicesTableName: string;
  /** Dead-letter queue for refused records (DEAD_LETTER_QUEUE_URL). */
  readonly deadLetterQueueUrl: string;
  /** Days a DynamoDB telemetry point is kept (TELEMETRY_RETENTION_DAYS). @default 30 */
  readonly retentionDays: number;
} & (
  | { readonly telemetryStore: 'dynamodb'; readonly telemetryTableName: string }
  | { readonly telemetryStore: 'timestream'; readonly timestreamDatabaseName: string; readonly timestreamTableName: string }
);

/** Reads the configuration; throws naming the first missing or invalid variable, so a misdeployed function fails fast. */
export function readIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const required = requiredVariable(env);
  const store = required('TELEMETRY_STORE');
  const retention = env.TELEMETRY_RETENTION_DAYS === undefined ? 30 : Number(env.TELEMETRY_RETENTION_DAYS);
  if (!Number.isInteger(retention) || retention < 1) {
    throw new Error(`Invalid environment variable TELEMETRY_RETENTION_DAYS=${env.TELEMETRY_RETENTION_DAYS}: a whole number of days >= 1`);
  }
  const common = { devicesTableName: required('DEVICES_TABLE_NAME'), deadLetterQueueUrl: required('DEAD_LETTER_QUEUE_URL'), retentionDays: retention };
  if (store === 'dynamodb') return { ...common, telemetryStore: store, telemetryTableName: required('TELEMETRY_TABLE_NAME') };
  if (store === 'timestream') {
    return {
      ...common,
      telemetryStore: store,
      timestreamDatabaseName: required('TIMESTREAM_DATABASE_NAME'),
      timestreamTableName: required('TIMESTREAM_TABLE_NAME'),
    };
  }
  throw new Error(`Invalid environment variable TELEMETRY_STORE=${store}: use dynamodb or timestream`);
}
