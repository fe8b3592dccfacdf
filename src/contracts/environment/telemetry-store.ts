/** Which telemetry store a function reads or writes, chosen by the stack's `telemetryStore` flag. */
import type { ConfigReader } from '../config-reader.js';
import { TELEMETRY_TABLE } from '../tables.js';
import { VARIABLES } from './variables.js';

/** The telemetry store kinds. */
export const TELEMETRY_STORE_KINDS = ['dynamodb', 'timestream'] as const;

/** Which telemetry store the function uses (the stack's `telemetryStore` flag). */
export type TelemetryStoreKind = (typeof TELEMETRY_STORE_KINDS)[number];

/** The store and the names of its tables. */
export type TelemetryStoreLocation =
  | { readonly store: 'dynamodb'; readonly tableName: string }
  | { readonly store: 'timestream'; readonly databaseName: string; readonly tableName: string };

/** Reads TELEMETRY_STORE and the table variables of that store. */
export function readTelemetryStore(read: ConfigReader): TelemetryStoreLocation {
  const store = read.oneOf(VARIABLES.telemetryStore, TELEMETRY_STORE_KINDS);
  if (store === 'dynamodb') return { store, tableName: read.required(TELEMETRY_TABLE.tableNameEnv) };
  return { store, databaseName: read.required(VARIABLES.timestreamDatabaseName), tableName: read.required(VARIABLES.timestreamTableName) };
}
