/** Configuration of the presence Lambda, read once from the environment at cold start. */
import { requiredVariable } from '../../src/config/env.js';

/** Settings the presence Lambda runs with. */
export interface PresenceConfig {
  /** Devices table (DEVICES_TABLE_NAME). */
  readonly devicesTableName: string;
  /** Dead-letter queue for malformed lifecycle events (DEAD_LETTER_QUEUE_URL). */
  readonly deadLetterQueueUrl: string;
}

/** Reads the configuration; throws naming the first missing variable. */
export function readPresenceConfig(env: NodeJS.ProcessEnv = process.env): PresenceConfig {
  const required = requiredVariable(env);
  return { devicesTableName: required('DEVICES_TABLE_NAME'), deadLetterQueueUrl: required('DEAD_LETTER_QUEUE_URL') };
}
