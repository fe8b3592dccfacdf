/** The presence reconciler function's environment: set by lib/presence-reconciler.ts, read once at cold start. */
import { configReader, type Environment } from '../config-reader.js';
import { DEVICES_TABLE } from '../tables.js';

/** Settings the presence reconciler runs with. */
export interface PresenceReconcilerEnvironment {
  readonly devicesTableName: string;
}

/** Reads the environment; throws ConfigError naming the first missing variable. */
export function readPresenceReconcilerEnvironment(env: Environment = process.env): PresenceReconcilerEnvironment {
  return { devicesTableName: configReader(env).required(DEVICES_TABLE.tableNameEnv) };
}
