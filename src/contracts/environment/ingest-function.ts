/** The ingest function's environment: set by lib/ingest-pipeline.ts, read once at cold start. */
import { configReader, type Environment } from '../config-reader.js';
import { ALARMS_TABLE, DEVICES_TABLE } from '../tables.js';
import { readTelemetryStore, type TelemetryStoreLocation } from './telemetry-store.js';
import { VARIABLES } from './variables.js';

/** Days a DynamoDB telemetry point is kept when TELEMETRY_RETENTION_DAYS is unset. */
export const DEFAULT_TELEMETRY_RETENTION_DAYS = 30;

/** Settings the ingest function runs with. */
export interface IngestEnvironment {
  readonly devicesTableName: string;
  /** Dead-letter queue for refused records. */
  readonly deadLetterQueueUrl: string;
  /** Days a DynamoDB telemetry point is kept. @default 30 */
  readonly retentionDays: number;
  readonly telemetry: TelemetryStoreLocation;
  /** Alarms table; alarm rules are evaluated in the batches when it is set (the stack always sets it). */
  readonly alarmsTableName?: string;
}

/** Reads the environment; throws ConfigError naming the first missing or invalid variable. */
export function readIngestEnvironment(env: Environment = process.env): IngestEnvironment {
  const read = configReader(env);
  return {
    devicesTableName: read.required(DEVICES_TABLE.tableNameEnv),
    deadLetterQueueUrl: read.required(VARIABLES.deadLetterQueueUrl),
    retentionDays: read.integer(VARIABLES.telemetryRetentionDays, { fallback: DEFAULT_TELEMETRY_RETENTION_DAYS, min: 1, max: 36_500 }),
    telemetry: readTelemetryStore(read),
    ...(read.optional(ALARMS_TABLE.tableNameEnv) && { alarmsTableName: read.optional(ALARMS_TABLE.tableNameEnv)! }),
  };
}
