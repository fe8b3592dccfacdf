/** The device control and command timeout functions' environment: set by lib/device-control.ts, read once at cold start. */
import { configReader, type Environment } from '../config-reader.js';
import { COMMANDS_TABLE, DEVICES_TABLE, TWINS_TABLE } from '../tables.js';
import { VARIABLES } from './variables.js';

/** Settings the device control function runs with. */
export interface DeviceControlEnvironment {
  readonly devicesTableName: string;
  readonly commandsTableName: string;
  readonly twinsTableName: string;
  /** Dead-letter queue for refused answers and reports. */
  readonly deadLetterQueueUrl: string;
}

/** Reads the environment; throws ConfigError naming the first missing variable. */
export function readDeviceControlEnvironment(env: Environment = process.env): DeviceControlEnvironment {
  const read = configReader(env);
  return {
    devicesTableName: read.required(DEVICES_TABLE.tableNameEnv),
    commandsTableName: read.required(COMMANDS_TABLE.tableNameEnv),
    twinsTableName: read.required(TWINS_TABLE.tableNameEnv),
    deadLetterQueueUrl: read.required(VARIABLES.deadLetterQueueUrl),
  };
}

/** Reads the command sweep's environment: the Commands table, and the Devices table for presence (the re-drive). */
export function readCommandTimeoutsEnvironment(env: Environment = process.env): { readonly commandsTableName: string; readonly devicesTableName: string } {
  const read = configReader(env);
  return { commandsTableName: read.required(COMMANDS_TABLE.tableNameEnv), devicesTableName: read.required(DEVICES_TABLE.tableNameEnv) };
}
