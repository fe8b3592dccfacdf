/** Configuration of the events Lambda, read once from the environment at cold start. */
import { requiredVariable } from '../../src/config/env.js';

/** Settings the events Lambda runs with. */
export interface EventsConfig {
  /** Stats table (STATS_TABLE_NAME, set by Storage.grantStatsReadWrite). */
  readonly statsTableName: string;
  /** AppSync GraphQL endpoint for the deviceUpdated publisher (APPSYNC_GRAPHQL_URL); off when unset. */
  readonly appSyncGraphqlUrl?: string;
  /** Whether changes are republished on the internal IoT change topic (CHANGE_TOPIC_ENABLED=true). */
  readonly changeTopicEnabled: boolean;
  /**
   * Whether telemetry-only changes (lastSeen/readings) are fanned out to the publishers
   * (PUBLISH_TELEMETRY_CHANGES, `true` unless `false`; CDK context flag liveTelemetryUpdates).
   */
  readonly publishTelemetryChanges: boolean;
}

/** Reads the configuration; throws naming the first missing variable, so a misdeployed function fails fast. */
export function readEventsConfig(env: NodeJS.ProcessEnv = process.env): EventsConfig {
  const required = requiredVariable(env);
  return {
    statsTableName: required('STATS_TABLE_NAME'),
    ...(env.APPSYNC_GRAPHQL_URL && { appSyncGraphqlUrl: env.APPSYNC_GRAPHQL_URL }),
    changeTopicEnabled: env.CHANGE_TOPIC_ENABLED === 'true',
    publishTelemetryChanges: booleanVariable(env, 'PUBLISH_TELEMETRY_CHANGES', true),
  };
}

/** `true`/`false`, or `fallback` when unset; anything else is a misdeployment and throws naming the variable. */
function booleanVariable(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new Error(`Environment variable ${name} must be true or false, got ${JSON.stringify(value.slice(0, 40))}`);
}
