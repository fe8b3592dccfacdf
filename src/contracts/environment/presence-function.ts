/** The presence function's environment: set by lib/ingest-pipeline.ts, read once at cold start. */
import { configReader, type Environment } from '../config-reader.js';
import { DEVICES_TABLE } from '../tables.js';
import { VARIABLES } from './variables.js';

/** Settings the presence function runs with. */
export interface PresenceEnvironment {
  readonly devicesTableName: string;
  /** Dead-letter queue for malformed lifecycle events. */
  readonly deadLetterQueueUrl: string;
}

/** Reads the environment; throws ConfigError naming the first missing variable. */
export function readPresenceEnvironment(env: Environment = process.env): PresenceEnvironment {
  const read = configReader(env);
  return { devicesTableName: read.required(DEVICES_TABLE.tableNameEnv), deadLetterQueueUrl: read.required(VARIABLES.deadLetterQueueUrl) };
}
