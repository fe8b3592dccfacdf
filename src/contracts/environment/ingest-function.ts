/** The ingest function's environment: set by lib/ingest-pipeline.ts, read once at cold start. */
import { configReader, type Environment } from '../config-reader.js';
import { ALARMS_TABLE, DEVICES_TABLE } from '../tables.js';
import { readTelemetryStore, type TelemetryStoreLocation } from './telemetry-store.js';
import { VARIABLES } from './variables.js';
import { DEFAULT_TELEMETRY_RETENTION, MAX_RETENTION_DAYS, TELEMETRY_RETENTION_VARIABLES, type TelemetryRetention } from '../telemetry-retention.js';

/** Settings the ingest function runs with. */
export interface IngestEnvironment {
  readonly devicesTableName: string;
  /** Dead-letter queue for refused records. */
  readonly deadLetterQueueUrl: string;
  /** Days DynamoDB keeps raw telemetry and each rollup resolution. @default DEFAULT_TELEMETRY_RETENTION */
  readonly retention: TelemetryRetention;
  readonly telemetry: TelemetryStoreLocation;
  /** Alarms table; alarm rules are evaluated in the batches when it is set (the stack always sets it). */
  readonly alarmsTableName?: string;
}

/** Reads the environment; throws ConfigError naming the first missing or invalid variable. */
export function readIngestEnvironment(env: Environment = process.env): IngestEnvironment {
  const read = configReader(env);
  const days = (name: string, fallback: number) => read.integer(name, { fallback, min: 1, max: MAX_RETENTION_DAYS });
  return {
    devicesTableName: read.required(DEVICES_TABLE.tableNameEnv),
    deadLetterQueueUrl: read.required(VARIABLES.deadLetterQueueUrl),
    retention: {
      raw: days(TELEMETRY_RETENTION_VARIABLES.raw, DEFAULT_TELEMETRY_RETENTION.raw),
      minute: days(TELEMETRY_RETENTION_VARIABLES.minute, DEFAULT_TELEMETRY_RETENTION.minute),
      hour: days(TELEMETRY_RETENTION_VARIABLES.hour, DEFAULT_TELEMETRY_RETENTION.hour),
      day: days(TELEMETRY_RETENTION_VARIABLES.day, DEFAULT_TELEMETRY_RETENTION.day),
    },
    telemetry: readTelemetryStore(read),
    ...(read.optional(ALARMS_TABLE.tableNameEnv) && { alarmsTableName: read.optional(ALARMS_TABLE.tableNameEnv)! }),
  };
}
