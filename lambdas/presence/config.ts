/** Configuration of the presence Lambda, read once from the environment at cold start. */

/** Settings the presence Lambda runs with. */
export interface PresenceConfig {
  /** Devices table (DEVICES_TABLE_NAME). */
  readonly devicesTableName: string;
  /** Dead-letter queue for malformed lifecycle events (DEAD_LETTER_QUEUE_URL). */
  readonly deadLetterQueueUrl: string;
}

/** Reads the configuration; throws naming the first missing variable. */
export function readPresenceConfig(env: NodeJS.ProcessEnv = process.env): PresenceConfig {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`Missing environment variable ${name}`);
    return value;
  };
  return { devicesTableName: required('DEVICES_TABLE_NAME'), deadLetterQueueUrl: required('DEAD_LETTER_QUEUE_URL') };
}
