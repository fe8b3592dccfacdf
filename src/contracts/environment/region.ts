/** The AWS region a process runs in, as the Lambda and ECS runtimes set it. */
import { ConfigError, type ConfigReader } from '../config-reader.js';
import { VARIABLES } from './variables.js';

/** AWS_REGION, else AWS_DEFAULT_REGION; throws naming AWS_REGION when neither is set. */
export function readRegion(read: ConfigReader): string {
  const region = read.optional(VARIABLES.region) ?? read.optional(VARIABLES.regionFallback);
  if (!region) throw new ConfigError(VARIABLES.region, 'is required');
  return region;
}
