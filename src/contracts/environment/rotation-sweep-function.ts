/** The rotation sweep function's environment: set by lib/rotation-sweep.ts, read once at cold start. */
import { configReader, type Environment } from '../config-reader.js';
import { DEVICES_TABLE } from '../tables.js';

/** Settings the rotation sweep runs with. */
export interface RotationSweepEnvironment {
  readonly devicesTableName: string;
}

/** Reads the environment; throws ConfigError naming the first missing variable. */
export function readRotationSweepEnvironment(env: Environment = process.env): RotationSweepEnvironment {
  return { devicesTableName: configReader(env).required(DEVICES_TABLE.tableNameEnv) };
}
