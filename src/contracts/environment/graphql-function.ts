/** The GraphQL resolver function's environment: set by lib/api.ts and the grants of storage and telemetry. */
import { configReader, type Environment } from '../config-reader.js';
import { ALARMS_TABLE, COMMANDS_TABLE, DEVICES_TABLE, STATS_TABLE, TWINS_TABLE } from '../tables.js';
import { readPageTokenSecretSource, type PageTokenSecretSource } from './page-token-secret.js';
import { readTelemetryStore, type TelemetryStoreLocation } from './telemetry-store.js';

/** Settings the resolver function runs with. */
export interface GraphqlEnvironment {
  readonly devicesTableName: string;
  readonly statsTableName: string;
  readonly commandsTableName: string;
  readonly twinsTableName: string;
  readonly alarmsTableName: string;
  /** Where telemetry is read. */
  readonly telemetry: TelemetryStoreLocation;
  readonly pageTokenSecret: PageTokenSecretSource;
}

/** Reads the environment; throws ConfigError naming the first missing or invalid variable. */
export function readGraphqlEnvironment(env: Environment = process.env): GraphqlEnvironment {
  const read = configReader(env);
  return {
    devicesTableName: read.required(DEVICES_TABLE.tableNameEnv),
    statsTableName: read.required(STATS_TABLE.tableNameEnv),
    commandsTableName: read.required(COMMANDS_TABLE.tableNameEnv),
    twinsTableName: read.required(TWINS_TABLE.tableNameEnv),
    alarmsTableName: read.required(ALARMS_TABLE.tableNameEnv),
    telemetry: readTelemetryStore(read),
    pageTokenSecret: readPageTokenSecretSource(read),
  };
}
